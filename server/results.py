"""What the tools return: typed models that become each tool's output schema and structured content.

Durations from Ollama are nanoseconds; here they are milliseconds, which people and models read more easily.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class GenerationResult(BaseModel):
    """A finished generation (ollama_generate and ollama_chat)."""

    model: str
    response: str = Field(description="The model's answer.")
    thinking: str | None = Field(None, description="The model's reasoning, kept apart from the answer.")
    tool_calls: list[dict[str, Any]] | None = Field(None, description="Tool calls the model asked for (chat only).")
    done_reason: str | None = Field(None, description="'stop', or 'length' when num_predict ran out.")
    prompt_tokens: int = 0
    output_tokens: int = 0
    total_duration_ms: float = 0.0
    load_duration_ms: float = 0.0
    prompt_eval_duration_ms: float = 0.0
    eval_duration_ms: float = 0.0
    tokens_per_second: float | None = None


class ModelEntry(BaseModel):
    name: str
    size_bytes: int
    size: str = Field(description="Size on disk, human readable.")
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    capabilities: list[str] = Field(default_factory=list)
    context_length: int | None = None
    loaded: bool = Field(False, description="In memory now (answers without a load delay).")
    is_default: bool = Field(False, description="The default model for calls that name none.")


class ModelList(BaseModel):
    models: list[ModelEntry]
    default_model: str | None = None
    ollama_url: str


class LoadedEntry(BaseModel):
    name: str
    size_bytes: int
    vram_bytes: int = Field(description="Bytes on the GPU; 0 means it runs on the CPU.")
    expires_at: str | None = Field(None, description="When Ollama unloads it if unused.")
    context_length: int | None = None


class LoadedList(BaseModel):
    models: list[LoadedEntry]


class ModelDetails(BaseModel):
    model: str
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    context_length: int | None = Field(None, description="The most tokens the model can attend to.")
    embedding_length: int | None = None
    capabilities: list[str] = Field(default_factory=list)
    parameters: str | None = Field(None, description="Default parameters from the Modelfile.")
    system: str | None = None
    template: str | None = None
    license: str | None = Field(None, description="The first lines of the license.")
    modified_at: str | None = None


class EmbeddingResult(BaseModel):
    model: str
    embeddings: list[list[float]]
    dimensions: int
    prompt_tokens: int = 0
    total_duration_ms: float = 0.0


class PullResult(BaseModel):
    model: str
    status: str
    completed_bytes: int = 0
    total_bytes: int = 0


class DeleteResult(BaseModel):
    model: str
    deleted: bool


class MaterialFile(BaseModel):
    path: str
    bytes: int


class MaterialSkip(BaseModel):
    path: str
    reason: str


class MaterialResult(BaseModel):
    """The result of a material tool: the answer, what was read and skipped, where it went, and the accounting.

    Tokens here are estimates at 4 bytes a token (see server/fitting.py), except `prompt_eval_count`, which is
    what the local model counted.
    """

    answer: str = Field(description="The local model's answer (for extraction: the JSON text).")
    data: Any = Field(None, description="Extraction: the JSON value, valid against the caller's schema.")
    labels: list[dict[str, Any]] | None = Field(None, description="Labelling: one {item, label} per item.")
    model: str
    material_went_to: str = Field(description="'this machine', or the host the material was sent to.")
    read: list[MaterialFile] = Field(default_factory=list)
    skipped: list[MaterialSkip] = Field(default_factory=list, description="Paths not read, each with the reason.")
    parts: int = Field(1, description="Requests the material was split into (map-reduce when more than 1).")
    requests: int = 0
    files_read: int = 0
    bytes_read: int = 0
    tokens_read: int = Field(0, description="Estimated tokens of the files read locally (not of text passed in).")
    prompt_eval_count: int = Field(0, description="Input tokens the local model counted, summed over requests.")
    output_tokens: int = 0
    tokens_returned: int = Field(0, description="Estimated tokens this result returns to Claude.")
    kept_out_tokens: int = Field(0, description="Context kept out of Claude: tokens read minus tokens returned.")
    duration_ms: float = 0.0
