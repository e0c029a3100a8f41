"""Model names and the catalogue of emulated models."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

DEFAULT_NUM_CTX = 4096  # what Ollama picks below 24 GiB of VRAM
_REGISTRY_HOST = "registry.ollama.ai"
_LIBRARY = "library"
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_HOSTPART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")


@dataclasses.dataclass(frozen=True)
class Name:
    """A parsed model name: `[host/][namespace/]model[:tag]`."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> str:
        return self.qualified.lower()

    @property
    def qualified(self) -> str:
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def display(self) -> str:
        """The "shortest display" form used by listings: host and namespace only when not the defaults."""
        if self.host.lower() != _REGISTRY_HOST:
            return self.qualified
        prefix = "" if self.namespace.lower() == _LIBRARY else f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"


def parse_name(text: str) -> Name | None:
    """Parse a model name, or None when it is not valid."""
    rest, tag = text, "latest"
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
    parts = rest.split("/")
    if len(parts) > 3:
        return None
    host, namespace = _REGISTRY_HOST, _LIBRARY
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    model = parts[-1]
    valid = (
        _HOSTPART.fullmatch(host)
        and _NAMESPACE.fullmatch(namespace)
        and _PART.fullmatch(model)
        and _PART.fullmatch(tag)
    )
    return Name(host, namespace, model, tag) if valid else None


def model_key(name: str) -> str:
    """The lookup key of a model name: fully qualified and lower-cased."""
    parsed = parse_name(name)
    return parsed.key if parsed else name.lower()


def qualified(text: str) -> str:
    """`registry.ollama.ai/library/x:latest` form, as Ollama's insert/tools errors show it."""
    parsed = parse_name(text)
    return parsed.qualified if parsed else text


@dataclasses.dataclass(frozen=True)
class EmulatedModel:
    """One installed model as `/api/tags`, `/api/show` and `/api/ps` describe it."""

    name: str
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization: str = "Q4_K_M"
    capabilities: tuple[str, ...] = ("completion", "tools")
    size: int = 2_019_393_189
    context_length: int = 131_072
    embedding_length: int = 3072
    modified_at: float = 1_735_689_600.0  # epoch seconds
    license: str | None = None
    digest: str = ""  # 64 hex digits; derived from the name when empty
    # Prompt tokens: None counts words (short prompts stay readable in tests); a number counts UTF-8 bytes per
    # token, like a real tokenizer (about 4 for English, denser for code and other scripts).
    bytes_per_token: float | None = None
    # A cloud model (`ollama signin`): /api/tags and /api/show carry where it really runs.
    remote_model: str | None = None
    remote_host: str | None = None

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.sha256(self.name.encode()).hexdigest())

    @property
    def details(self) -> dict[str, Any]:
        """The `details` object shared by tags, ps and show."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }


def default_models() -> list[EmulatedModel]:
    """A small realistic install: a coder chat model, llama3.2, a thinking model and an embedding-only model."""
    day = 86_400.0
    base = 1_750_000_000.0
    return [
        EmulatedModel(
            "qwen2.5-coder:3b", "qwen2", "3.1B", "Q4_K_M", ("completion", "tools", "insert"),
            1_929_912_432, 32_768, 2048, base,
        ),
        EmulatedModel(
            "llama3.2:latest", "llama", "3.2B", "Q4_K_M", ("completion", "tools"),
            2_019_393_189, 131_072, 3072, base - day, license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
        ),
        EmulatedModel(
            "qwen3:4b", "qwen3", "4.0B", "Q4_K_M", ("completion", "tools", "thinking"),
            2_497_293_918, 40_960, 2560, base - 2 * day,
        ),
        EmulatedModel(
            "nomic-embed-text:latest", "nomic-bert", "137M", "F16", ("embedding",),
            274_302_450, 2048, 768, base - 3 * day,
        ),
    ]  # fmt: skip


def cloud_model() -> EmulatedModel:
    """A cloud entry as `/api/tags` lists it after `ollama signin`: tiny on disk, run on ollama.com."""
    return EmulatedModel(
        "gpt-oss:120b-cloud", "gptoss", "116.8B", "MXFP4", ("completion", "tools", "thinking"), 384, 131_072,
        2880, 1_749_000_000.0, remote_model="gpt-oss:120b", remote_host="https://ollama.com:443",
    )  # fmt: skip


def many_models(count: int) -> list[EmulatedModel]:
    """`count` models for benchmarks: the defaults first, then `bench-NN:latest` chat models."""
    models = default_models()[:count]
    oldest = min(m.modified_at for m in default_models())
    for index in range(len(models), count):
        models.append(EmulatedModel(f"bench-{index:02d}:latest", modified_at=oldest - 3600.0 * index))
    return models


def pullable_extras() -> list[EmulatedModel]:
    """Models the default registry offers beyond the installed ones."""
    return [
        EmulatedModel("smollm2:135m", "llama", "135M", "Q8_0", ("completion", "tools"), 270_898_672, 8192, 576),
        EmulatedModel("all-minilm:latest", "bert", "23M", "F16", ("embedding",), 45_960_996, 512, 384),
    ]


def layers(model: EmulatedModel) -> list[tuple[str, int]]:
    """(digest, size) of the blobs a pull downloads: weights, template, license, params, config."""
    small = [("template", 1_429), ("license", 7_711 if model.license else 0), ("params", 96), ("config", 487)]
    sizes = [("model", model.size - sum(s for _, s in small)), *[(k, s) for k, s in small if s]]
    return [(hashlib.sha256(f"{model.name}/{kind}".encode()).hexdigest(), size) for kind, size in sizes]
