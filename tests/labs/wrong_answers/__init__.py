"""Wrong-answer corpora of the labs, one module per lab (labs 1 and 2 are in tests/labs/test_wrong_answers.py)."""
