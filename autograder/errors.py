"""The autograder's errors that more than one of its packages raise, each of one kind."""

from facekit.base.errors import InputError, KitFault


class GraderFault(KitFault):
    """The grader itself is broken (the reference fails its own grading in the sandbox, a worker
    cannot start, the reference lacks a component): never a student's zero; nothing is recorded."""


class SubmissionError(InputError):
    """A student's submission (folder, notebook, checkpoint) cannot be graded: the student's
    zero or flag, with this reason."""
