"""The suite measuring itself: can it see bugs it was not written for?

- `mutants/`: the mutant bank, torch with one deliberate bug each, one module per kind of bug
  (output size, window geometry, NaN, indices, averages, dtypes, batching, validation, backward).
  A new mutant goes into the module of what it breaks.
- `mutation.py`: runs the properties against a mutant until one fails where correct torch
  passes: which property killed it, after how many cases and seconds.
"""
