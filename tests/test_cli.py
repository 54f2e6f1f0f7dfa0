from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.delenv("REPMON_DB", raising=False)
    monkeypatch.delenv("REPMON_CONFIG", raising=False)
    return CliRunner()


def test_top_level_help_lists_commands(runner):
    result = runner.invoke(cli, ["-h"])
    assert result.exit_code == 0
    assert "--db FILE" in result.output and "--config FILE" in result.output
    for name in cli.commands:
        assert f"  {name} " in result.output


@pytest.mark.parametrize("path", list(all_commands(cli)), ids=" ".join)
def test_every_command_has_help(runner, path):
    for flag in ("-h", "--help"):
        result = runner.invoke(cli, [*path, flag])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Usage: cli {' '.join(path)}")
        assert cli.commands[path[0]].help


@pytest.mark.parametrize(
    "path", [p for p in all_commands(cli) if not isinstance(cli.commands[p[0]], click.Group) or len(p) > 1], ids=" ".join
)
def test_every_command_is_documented_in_readme(path):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("### ")]
    assert any(f"`repmon {' '.join(path)}`" in heading for heading in headings)


def test_init_writes_config_and_database(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Wrote monitor.toml: an example to edit for your business\n"
        "Database data/monitor.db is ready: 1 business(es), 3 source(s)\n"
    )
    assert Path("monitor.toml").read_text().startswith("# repmon configuration.")
    assert Path("data/monitor.db").exists()
    again = runner.invoke(cli, ["init"])
    assert again.output.splitlines()[0] == "Keeping existing monitor.toml"


def test_init_honours_db_and_config_environment(runner, tmp_path):
    env = {"REPMON_DB": str(tmp_path / "x" / "firm.db"), "REPMON_CONFIG": str(tmp_path / "firm.toml")}
    result = runner.invoke(cli, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "firm.db").exists() and (tmp_path / "firm.toml").exists()


def test_bad_config_is_refused_and_nothing_written(runner, tmp_path):
    config = tmp_path / "monitor.toml"
    config.write_text('[[business]]\nname = "Hansen VVS"\ncolour = "blue"\n')
    db_path = tmp_path / "monitor.db"
    result = runner.invoke(cli, ["--db", str(db_path), "--config", str(config), "init"])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {config}: invalid configuration:\n"
        "  business[0].colour: unknown key, expected one of: name, aliases, country, languages, "
        "timezone, source, channel, jobs_columns, thresholds, replies\n"
    )
    assert not db_path.exists()


def test_explicit_config_must_exist(runner, tmp_path):
    result = runner.invoke(cli, ["--config", str(tmp_path / "nope.toml"), "--db", str(tmp_path / "m.db"), "serve"])
    assert result.exit_code == 2
    assert "nope.toml: file not found" in result.output
    assert not (tmp_path / "m.db").exists()


def test_serve_refuses_public_interface_without_password(runner, tmp_path):
    result = runner.invoke(cli, ["--db", str(tmp_path / "m.db"), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0" in result.output
    assert not (tmp_path / "m.db").exists()


def test_reply_prints_suggestions_for_any_review_and_refuses_an_unknown_id(runner, tmp_path, db, db_path, business_id):
    from monitor.store import save_reviews

    config = tmp_path / "monitor.toml"
    config.write_text('[[business]]\nname = "Hansen VVS ApS"\nlanguages = ["da"]\n', encoding="utf-8")
    save_reviews(db, [{"business_id": business_id, "source": "trustpilot", "external_id": "p1", "rating": 5,
                       "author": "Anne Berg", "body": "Meget tilfreds.", "published_at": "2026-11-20T10:00:00Z"}])
    assert runner.invoke(cli, ["--db", str(db_path), "--config", str(config), "analyze"]).exit_code == 0
    result = runner.invoke(cli, ["--db", str(db_path), "--config", str(config), "reply", "trustpilot:p1"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "--- thanks (da) ---\nHej Anne\n\nMange tak for de pæne ord. Vi er glade for, at du er tilfreds, og vi giver rosen "
        "videre til holdet.\n\nVenlig hilsen\nHansen VVS ApS\n\n"
        "--- thanks_short (da) ---\nHej Anne\n\nTak fordi du tog dig tid til at skrive en anmeldelse. Vi hjælper gerne igen "
        "en anden gang.\n\nVenlig hilsen\nHansen VVS ApS\n")
    unknown = runner.invoke(cli, ["--db", str(db_path), "--config", str(config), "reply", "trustpilot:nope"])
    assert unknown.exit_code == 1
    assert "there is no review 'trustpilot:nope'; the explorer's Reviews page lists them" in unknown.output
