"""The properties: each compares the backend under test with the oracle on one concern.

`test_pooling.py` (shape, dtype, values, indices), `test_gradients.py` (the backward pass),
`test_validity.py` (invalid arguments), `test_metamorphic.py` (relations between ops, on the
backend alone), `test_formulas.py` (output-size formulas against enumeration), `test_notebook.py`
(the course notebook's examples). A new property is a test function here, parametrised over ops.
"""
