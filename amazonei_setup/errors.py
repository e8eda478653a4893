"""Typed failures. The CLI maps each to an exit code and a one-line cause plus a fix.

Libraries raise these; they never print or exit.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_AWS = 1
EXIT_INPUT = 2
EXIT_AGENT = 3
EXIT_INTERRUPTED = 130


class SetupError(Exception):
    """A failure the user can act on: `message` says what happened, `hint` what to do."""

    exit_code = EXIT_AWS

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The message as it is shown to the user, cause first, fix after."""
        out = [self.message]
        if self.hint:
            out.append(self.hint)
        return out


class InputError(SetupError):
    """Bad input or usage: detected before anything was created in AWS."""

    exit_code = EXIT_INPUT


class AwsFailure(SetupError):
    """AWS refused or failed a call; `code` is the AWS error code when there was one."""

    exit_code = EXIT_AWS

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class BucketNameTaken(AwsFailure):
    """The S3 bucket name the tool derives for a deployment belongs to another AWS account
    (bucket names are global): nothing of ours can be put in it."""

    def __init__(self, bucket: str) -> None:
        super().__init__(
            f"the S3 bucket name {bucket} is taken by another AWS account",
            "bucket names are global and this one is made from your account, region and "
            "deployment name: choose another deployment name (--name)",
            code="BucketAlreadyExists",
        )
        self.bucket = bucket


class AgentCheckFailed(SetupError):
    """The on-instance agent reported a failed check."""

    exit_code = EXIT_AGENT


@dataclass(frozen=True)
class ProfileIssue:
    """One problem in a profile, located as precisely as the input allows."""

    field: str
    message: str
    source: str = "profile"
    line: int | None = None
    suggestion: str | None = None

    def render(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        subject = f"{self.field}: " if self.field else ""
        text = f"{where}: {subject}{self.message}"
        if self.suggestion:
            text += f" {self.suggestion}"
        return text


class ProfileError(InputError):
    """The profile (file and/or flags) is invalid; every issue is reported, not just the first."""

    def __init__(self, issues: list[ProfileIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"the launch profile has {count} {noun}",
            "fix the fields named above and run the same command again",
        )

    def lines(self) -> list[str]:
        return [issue.render() for issue in self.issues] + [f"{self.message}; {self.hint}"]
