-- A database from before the first release: no seen/removed times, no findings tables, no FTS.
CREATE TABLE businesses (id TEXT PRIMARY KEY, name TEXT NOT NULL, country TEXT);
INSERT INTO businesses VALUES ('hansen-vvs-aps', 'Hansen VVS ApS', 'DK');
CREATE TABLE reviews (
  id TEXT PRIMARY KEY,
  business_id TEXT NOT NULL REFERENCES businesses(id),
  source TEXT NOT NULL,
  external_id TEXT NOT NULL,
  author TEXT,
  rating FLOAT,
  title TEXT,
  body TEXT,
  published_at TEXT NOT NULL
);
INSERT INTO reviews VALUES ('trustpilot:old1', 'hansen-vvs-aps', 'trustpilot', 'old1', 'Mette', 5,
  'Flot arbejde', 'Hurtig og ordentlig.', '2025-03-01T10:00:00Z');
