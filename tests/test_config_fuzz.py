"""Mutated configuration files: each is read or refused with a ConfigError naming the file, never a traceback."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from monitor.config import Config, ConfigError, load_config

EXAMPLE = (Path(__file__).parent.parent / "monitor" / "example_config.toml").read_bytes()
TOKENS = [b"[", b"]", b"[[", b"]]", b"{", b"}", b'"', b"'''", b"=", b",", b"\n", b"#", b"\\", b"\x00", b"\xff\xfe",
          b"\xc3", b"1e999", b"-", b"true", b"nan", b"1979-05-27T07:32:00Z", b"\u2028".decode("unicode_escape").encode()]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One random edit of the kinds a hand-edited file or a broken copy shows."""
    kind = rng.randrange(6)
    at = rng.randrange(len(data) + 1)
    if kind == 0:  # a flipped byte
        index = min(at, len(data) - 1)
        return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1:]
    if kind == 1:  # cut off
        return data[:at]
    if kind == 2:  # a stray token
        return data[:at] + rng.choice(TOKENS) + data[at:]
    if kind == 3:  # a line repeated (duplicate keys, duplicate tables)
        lines = data.split(b"\n")
        line = rng.randrange(len(lines))
        return b"\n".join(lines[:line] + [lines[line]] * 2 + lines[line:])
    if kind == 4:  # a line deleted
        lines = data.split(b"\n")
        del lines[rng.randrange(len(lines))]
        return b"\n".join(lines)
    depth = rng.choice([10, 1_000, 100_000])  # deep nesting
    nested = rng.choice([(b"[" * depth, b"]" * depth), (b"{a=" * depth, b"}" * depth)])
    return data + b"\nextra = " + nested[0] + b"1" + nested[1] + b"\n"


def test_four_hundred_mutated_configurations_are_read_or_refused_by_name(tmp_path):
    rng = random.Random(20)
    path = tmp_path / "monitor.toml"
    outcomes = {"read": 0, "refused": 0}
    for _ in range(400):
        data = EXAMPLE
        for _ in range(rng.randint(1, 3)):
            data = mutate(rng, data)
        path.write_bytes(data)
        try:
            assert isinstance(load_config(path, required=True), Config)
            outcomes["read"] += 1
        except ConfigError as error:
            assert str(error).startswith(f"{path}: "), str(error)[:200]
            assert len(str(error)) < 5_000
            outcomes["refused"] += 1
    assert outcomes["read"] >= 40 and outcomes["refused"] >= 200, outcomes


@pytest.mark.parametrize("nesting", [b"[" * 100_000, b"{a=" * 100_000])
def test_deep_nesting_is_refused_with_a_reason(tmp_path, nesting):
    path = tmp_path / "monitor.toml"
    path.write_bytes(b"x = " + nesting + b"\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, required=True)
    assert str(refused.value) == f"{path}: invalid TOML: nested too deeply"


def test_a_folder_given_as_the_configuration_is_refused(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, required=True)
    assert str(refused.value) == f"{tmp_path}: is a folder, not a configuration file"
