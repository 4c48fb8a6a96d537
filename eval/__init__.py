"""Evaluation: the gold set of the bundled corpus, SQuAD-format open retrieval, metrics, runners."""
