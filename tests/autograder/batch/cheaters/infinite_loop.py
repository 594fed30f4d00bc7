"""Never returns."""


def _attack():
    while True:
        pass


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
