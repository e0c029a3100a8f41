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
