"""SIGTERM handling of the CLI wrapper (graphlink.cli_support.cli_errors)."""

import gc

import pytest
import typer

from graphlink import cli_support


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_sigterm_swallowed_by_a_finaliser_still_ends_the_command_with_143():
    """Python ignores an exception raised while a finaliser runs ("Exception ignored in ..."): a
    SIGTERM arriving while py4j collects a JavaObject was lost and a Spark run went on to exit 0.
    The handler's flag ends the command with 143 anyway."""

    class Collected:
        def __del__(self):
            cli_support.on_sigterm(15, None)

    ran = []

    @cli_support.cli_errors
    def command():
        Collected()  # collected at once: its exception is reported as ignored, not raised here
        gc.collect()
        ran.append(True)
        return "published"

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert ran == [True]  # the exception really was swallowed: the command ran to its end
    assert exit_.value.exit_code == 143


def test_check_terminated_raises_only_after_a_sigterm():
    @cli_support.cli_errors
    def command():
        cli_support.check_terminated()  # nothing arrived: no effect
        return "ok"

    assert command() == "ok"
    cli_support.TERMINATED.set()
    with pytest.raises(cli_support.Terminated):
        cli_support.check_terminated()
    cli_support.TERMINATED.clear()
