"""Scrapy spiders for repmon: one module per source kind, shared settings and the storage pipeline."""
