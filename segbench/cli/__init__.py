"""The `segbench` command line: a Click group whose commands live one per module here.

Commands are loaded lazily (the pattern from Click's docs) so that `segbench probe` does not pay
for importing torch and the model libraries. Every user-facing failure is turned into one line and
an exit code in `SegbenchGroup.invoke`, so `CliRunner` tests see exactly what a shell sees.
"""

from __future__ import annotations

import importlib

import click

from segbench import __version__
from segbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, SegbenchError

# command name -> "module:attribute"; one place to add a command.
COMMANDS = {
    "probe": "segbench.cli.probe:probe",
    "run": "segbench.cli.run:run",
    "soak": "segbench.cli.soak:soak",
    "tune": "segbench.cli.tune:tune",
    "check": "segbench.cli.advise:check",
    "recommend": "segbench.cli.advise:recommend",
    "report": "segbench.cli.report:report",
    "compare": "segbench.cli.report:compare",
    "export": "segbench.cli.report:export",
    "doctor": "segbench.cli.doctor:doctor",
    "fleet": "segbench.cli.fleet:fleet",
}


def _fail(message: str, code: int) -> None:
    click.echo(f"segbench: error: {message}", err=True)
    raise click.exceptions.Exit(code)


class SegbenchGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # the command itself is not built yet
                return None
            raise
        return getattr(module, attr)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except SegbenchError as exc:
            if debug:
                raise
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("segbench: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug, not bad input: still one line unless --debug
            if debug:
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (re-run with --debug for the traceback)", EXIT_FAILED)


@click.group(cls=SegbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="segbench")
def cli(debug: bool) -> None:
    """Benchmark segmentation models on this machine and predict them on others."""


def main() -> None:
    from segbench.families.registry import quiet_warnings

    try:
        quiet_warnings()  # library chatter the families declare; records explain it instead
    except SegbenchError:
        pass  # a broken plugin family: the command that needs the families says so in one line
    cli(prog_name="segbench")
