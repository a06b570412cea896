"""hrm: a terminal workbench for Hierarchical Reasoning Models.

The library never imports textual; importing `hrm` itself imports nothing heavy (no torch), so the
dashboard can read run directories through `hrm.rundir` and stay light.
"""

__version__ = "0.1.0"
