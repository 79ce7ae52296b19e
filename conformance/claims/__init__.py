"""The course notebook's claims, judged TRUE or FALSE with evidence, never copied as truths.

- `formulas.py`: closed-form output-length formulas (the notebook's and torch's documented ones),
  each compared with window enumeration, with Hypothesis' smallest counterexample.
- `notebook.py`: every claim of the notebook, formula or not ("global average pooling is
  AdaptiveAvgPool2d((1, 1))" is judged through the backend under test).
"""
