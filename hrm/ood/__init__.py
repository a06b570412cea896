"""Out-of-distribution suites behind `hrm ood`: length extrapolation (sort), clue density (Sudoku)
and the low-data regime; `datasets.py` builds their test sets into a cache, `suites.py` scores them."""
