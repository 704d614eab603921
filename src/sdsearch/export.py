# TEMPORARY shim: remove when callers import sdsearch.models
from .models.export import *  # noqa: F401,F403
from .models.export import export_sentence_transformers  # noqa: F401
