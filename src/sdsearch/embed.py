# TEMPORARY shim: remove when callers import sdsearch.models
from .models import *  # noqa: F401,F403
from .models import Encoder, EncoderError, SentenceTransformerEncoder, is_bundled, load_encoder  # noqa: F401
