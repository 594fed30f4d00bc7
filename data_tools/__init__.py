"""Data tools: synthetic identities, competition builder, validator and statistics.

Python API (the `facekit data` commands are thin wrappers around these):

- `data_tools.synth.generate_identities(out_dir, identities, images_per_identity, size=112,
  seed=0, *, workers=1, overwrite=False, progress=False) -> SynthSummary`
- `data_tools.build.build_competition(src, out, keys, config: BuildConfig | None = None, *,
  overwrite=False, progress=False) -> Manifest`, options in `data_tools.config.BuildConfig`
- `data_tools.check.check_competition(comp, keys=None) -> list[Problem]` (empty when clean)
- `data_tools.stats.competition_stats(comp, keys=None) -> CompetitionStats`,
  `format_stats(stats) -> str`, `plot_stats(stats, path)`
- Paths and CSV headers of the competition layout: `facekit.base.contract`.

User errors raise `data_tools.errors.DataToolsError` with a message for a person.
"""
