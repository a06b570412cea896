"""hrm_tui: the Textual dashboard behind `hrm tui`.

It never imports torch: it reads run directories through `hrm.rundir` and drives everything else
through `hrm ...` subprocesses. Start it with `hrm tui`; `hrm_tui.app.HrmApp` is the app.
"""
