"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused on normalised scores.

``searcher`` runs a search; ``references`` finds the documents and articles a question
names; ``filters`` translates metadata filters for both stores; ``fusion`` combines the
two sides; ``diversity`` shapes the top k; ``langchain`` wraps it all as a retriever.
"""

from rag.retrieve.filters import FILTER_KEYS, Filters
from rag.retrieve.fusion import fusion_weight, tuned_weights
from rag.retrieve.langchain import HybridRetriever
from rag.retrieve.references import DocumentNames, References
from rag.retrieve.searcher import Searcher

__all__ = ["FILTER_KEYS", "DocumentNames", "Filters", "HybridRetriever", "References", "Searcher", "fusion_weight",
           "tuned_weights"]
