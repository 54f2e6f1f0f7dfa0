from monitor.cli import cli

cli(prog_name="repmon")
