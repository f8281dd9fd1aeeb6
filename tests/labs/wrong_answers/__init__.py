"""Wrong-answer corpora of the labs, one module per lab named as the lab is (run by test_wrong_answers.py)."""
