"""Corpus management: the API under ``/api/admin`` (list, upload, delete, re-index) and
the page at ``/admin`` that officials use it through.

Every route needs ``Authorization: Bearer <POLICY_QA_SERVER_ADMIN_TOKEN>``; without a
configured token the whole API answers 404 "disabled", so a default install exposes no
write access at all.

Uploads live in ``$POLICY_QA_HOME/uploads/`` next to a ``manifest.toml`` this module
keeps, so ``policy-qa ingest $POLICY_QA_HOME/uploads`` (or a re-index job) reproduces
them with their metadata. Each upload is loaded once *before* it is stored: a wrong
type, an encrypted or a damaged file is refused with the loader's reason and never
touches the folder or the index. Ingest writes new vectors before dropping old ones,
so the chat keeps answering from the previous state while a change is running.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import tomllib
import uuid
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.config import Settings
from rag.errors import InputError, LoadError, PolicyQAError
from rag.ingest.indexer import Indexer
from rag.ingest.loaders import SUPPORTED_SUFFIXES, LoadedText, load_bytes
from rag.ingest.manifest import KINDS, MANIFEST_NAME, meta_from_fields
from rag.text.filenames import UNNAMED, safe_filename
from rag.text.script import is_traditional
from rag.types import LEGAL_LEVELS, STATUSES, UNCHECKED
from ui.api import ServerState, error_response, server_state

UPLOADS = "uploads"
MAX_JOBS = 50  # finished jobs kept for status queries
_DOC_ID = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][-_.0-9A-Za-z\u4e00-\u9fff]{0,79}$")


class AdminError(Exception):
    """An admin request refused with a status and a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def check_token(settings: Settings, authorization: str) -> None:
    """Raise `AdminError` unless a token is configured and ``authorization`` presents it.

    Called by every admin route (`require_admin`) and, before any body is read, by the
    request guard (ui.limits): an anonymous upload is refused before a byte is spooled."""
    token = settings.server.admin_token
    if token is None or not token.get_secret_value():
        raise AdminError(404, "the admin API is disabled; set POLICY_QA_SERVER_ADMIN_TOKEN to enable it")
    scheme, _, given = authorization.partition(" ")
    # Constant-time comparison: response timing must not leak the token prefix.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise AdminError(
            401, "missing or wrong admin token; send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )


def require_admin(request: Request) -> ServerState:
    """The dependency every admin route has: a configured token, presented as a Bearer."""
    state = server_state(request)
    check_token(state.settings, request.headers.get("authorization", ""))
    return state


Admin = Annotated[ServerState, Depends(require_admin)]
router = APIRouter(prefix="/api/admin", tags=["admin"])
pages = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
_PAGE_ASSETS = {"admin.js": "text/javascript; charset=utf-8", "admin.css": "text/css; charset=utf-8"}
# The upload form's 类型 choices, in the words of the people filling it in.
KIND_LABELS = {"paper": "研究文章", "policy": "政策文件", "law": "法律法规", "report": "报告", "web": "网页", "other": "其他"}


# ---- the corpus page -------------------------------------------------------------------


def _enabled(request: Request) -> None:
    """The page exists only where the admin API does (a configured token)."""
    token = server_state(request).settings.server.admin_token
    if token is None or not token.get_secret_value():
        raise AdminError(404, "the corpus page is disabled; set POLICY_QA_SERVER_ADMIN_TOKEN to enable it")


@pages.get("/admin")
async def corpus_page(request: Request) -> FileResponse:
    """The page itself holds no data: it asks for the token, and every list and action
    after that is an admin API call carrying it."""
    _enabled(request)
    return FileResponse(STATIC / "admin.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


@pages.get("/admin/assets/{name}")
async def corpus_page_asset(name: str, request: Request) -> FileResponse:
    _enabled(request)
    if name not in _PAGE_ASSETS:
        raise AdminError(404, f"no asset {name!r}")
    return FileResponse(STATIC / name, media_type=_PAGE_ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("/fields", summary="The choices of the upload form: kinds, legal levels, statuses")
async def upload_fields(state: Admin) -> dict[str, Any]:
    return {"kinds": list(KINDS), "kind_labels": KIND_LABELS, "legal_levels": list(LEGAL_LEVELS),
            "statuses": list(STATUSES), "unchecked": UNCHECKED}


def uploads_dir(state: ServerState) -> Path:
    return state.settings.home / UPLOADS


# ---- listing -----------------------------------------------------------------------


@router.get("/documents", summary="Indexed documents with metadata and chunk counts")
async def list_documents(state: Admin) -> dict[str, Any]:
    rows = await run_in_threadpool(state.pipeline.index.docs.documents)
    withdrawn = await run_in_threadpool(state.pipeline.index.docs.withdrawn)
    uploaded = {e["id"] for e in read_uploads_manifest(uploads_dir(state))}
    return {
        "documents": [{**m.to_dict(), "chunks": n, "uploaded": m.doc_id in uploaded} for m, n in rows],
        # Deleted from a corpus that still holds them; POST .../{doc_id}/restore undoes it.
        "withdrawn": [{"doc_id": d, "title": t, "at": at} for d, (t, at) in withdrawn.items()],
    }


# ---- upload ------------------------------------------------------------------------


@router.post("/documents", status_code=201, summary="Upload a PDF/DOCX/HTML/TXT/MD file and index it")
async def upload_document(
    state: Admin,
    file: Annotated[UploadFile, File(description="The document (.pdf .docx .html .htm .txt .md)")],
    title: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(description=" | ".join(KINDS))] = "policy",
    issuer: Annotated[str, Form()] = "",
    date: Annotated[str, Form(description="ISO date or year")] = "",
    doc_number: Annotated[str, Form(description="文号")] = "",
    source_url: Annotated[str, Form()] = "",
    cities: Annotated[str, Form(description="comma-separated, e.g. 常德,杭州")] = "",
    domains: Annotated[str, Form(description="comma-separated, e.g. 养老,教育")] = "",
    doc_id: Annotated[str, Form(description="replace this document (default: derived from name and content)")] = "",
    subtitle: Annotated[str, Form(description="title of the enclosed document, for a 印发…的通知")] = "",
    legal_level: Annotated[str, Form(description=" | ".join(LEGAL_LEVELS))] = "",
    date_effective: Annotated[str, Form(description="in force from, ISO date")] = "",
    status: Annotated[str, Form(description=" | ".join(STATUSES) + " (现行有效 needs status_note)")] = UNCHECKED,
    status_note: Annotated[str, Form(description="the source of the status")] = "",
    aliases: Annotated[str, Form(description="comma-separated short titles users type, e.g. 数据安全法,数安法")] = "",
    notice: Annotated[str, Form(description="what a reader must know before quoting it (shown on citations)")] = "",
) -> Any:
    # The name as users will see it (title, id, every message): no directories, control
    # or bidi characters, whatever the browser or a crafted request sent.
    name = safe_filename(file.filename or "")
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise AdminError(415, f"{name}: unsupported file type '{suffix or '(none)'}'; "
                              f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    fields = {"kind": kind, "legal_level": legal_level, "status": status, "status_note": status_note}
    try:
        meta_from_fields(fields, "upload", "upload", "", where="the upload")
    except InputError as exc:
        raise AdminError(422, str(exc).removeprefix("the upload ")) from None
    limit = state.settings.server.max_upload_mb * 1024 * 1024
    data = await file.read(limit + 1)  # stop reading once it is too big
    if len(data) > limit:
        raise AdminError(413, f"{name}: larger than the {state.settings.server.max_upload_mb} MB limit "
                              "(POLICY_QA_SERVER_MAX_UPLOAD_MB)")
    try:
        # The content check: the loader for the suffix must read it (a renamed .exe fails here).
        loaded = await run_in_threadpool(load_bytes, data, name)
    except LoadError as exc:
        raise AdminError(422, f"{name}: {exc.reason}") from None
    if doc_id and not _DOC_ID.match(doc_id):
        raise AdminError(422, f"doc_id {doc_id!r}: use letters, digits, Chinese characters, '-', '_' or '.'")
    entry = {
        "id": doc_id or derive_doc_id(name, data),
        "title": (title or loaded.title or PurePath(name).stem).strip()[:200],
        "kind": kind, "issuer": issuer, "date": date, "doc_number": doc_number, "source_url": source_url,
        "cities": _split(cities), "domains": _split(domains), "language": _language(loaded),
        "subtitle": subtitle, "legal_level": legal_level, "date_effective": date_effective, "status": status,
        "status_note": status_note, "aliases": _split(aliases), "notice": notice,
    }
    report = await run_in_threadpool(_store_and_ingest, state, entry, suffix, data)
    return {"document": entry, "report": report}


def derive_doc_id(filename: str, data: bytes) -> str:
    """Deterministic id: readable stem + content hash, so the same upload replaces itself."""
    stem = PurePath(safe_filename(filename)).stem
    # A name with nothing readable left is shown as 未命名文件; its id keeps the ASCII fallback.
    stem = "" if stem == UNNAMED else stem
    stem = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", stem).strip("-")[:40] or "upload"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}"


def _split(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,，、;；]", value) if v.strip()]


def _language(loaded: LoadedText) -> str:
    return "zh-Hant" if is_traditional(loaded.text[:4000]) else "zh-Hans"


def _store_and_ingest(state: ServerState, entry: dict[str, Any], suffix: str, data: bytes) -> dict[str, Any]:
    """Write the file and its manifest entry, ingest the folder; undo the files on failure."""
    folder = uploads_dir(state)
    with state.ingest_lock:
        folder.mkdir(parents=True, exist_ok=True)
        entries = read_uploads_manifest(folder)
        path = folder / f"{entry['id']}{suffix}"
        entry["path"] = path.name
        backup = path.read_bytes() if path.exists() else None
        path.write_bytes(data)
        write_uploads_manifest(folder, [e for e in entries if e["id"] != entry["id"]] + [entry])
        # Uploading a document is asking for it: an earlier withdrawal of this id is void.
        state.pipeline.index.docs.restore(entry["id"])
        try:
            report = Indexer(state.pipeline.index).ingest_paths([folder])
            failed = [line for line in report.errors if path.name in line]
            if failed:
                raise LoadError(path.name, failed[0].split(": ", 1)[-1])
        except PolicyQAError:
            _restore(folder, entries, path, backup)
            raise
        # A replaced document that had another file type leaves its old file behind.
        for e in entries:
            if e["id"] == entry["id"] and e.get("path") and e["path"] != path.name:
                (folder / e["path"]).unlink(missing_ok=True)
        return report.public()


def _restore(folder: Path, entries: list[dict[str, Any]], path: Path, backup: bytes | None) -> None:
    """Put the folder back as it was before a failed upload."""
    if backup is not None:
        path.write_bytes(backup)
    else:
        path.unlink(missing_ok=True)
    write_uploads_manifest(folder, entries)


# ---- delete ------------------------------------------------------------------------


@router.delete("/documents/{doc_id}", summary="Remove a document and its chunks")
async def delete_document(doc_id: str, state: Admin) -> Any:
    def work() -> bool:
        with state.ingest_lock:
            folder = uploads_dir(state)
            entries = read_uploads_manifest(folder)
            mine = [e for e in entries if e["id"] == doc_id]
            # A bundled (or folder) document stays in its corpus, so the deletion is
            # recorded or the next re-index would bring it back; an upload is simply gone.
            removed = Indexer(state.pipeline.index).remove(doc_id, withdraw=not mine)
            if mine:
                write_uploads_manifest(folder, [e for e in entries if e["id"] != doc_id])
                for e in mine:
                    (folder / e["path"]).unlink(missing_ok=True)
            return removed or bool(mine)

    if not await run_in_threadpool(work):
        raise AdminError(404, f"no document with id {doc_id!r}")
    return {"deleted": doc_id}


# ---- re-index jobs -----------------------------------------------------------------


@router.post("/documents/{doc_id}/restore", status_code=202,
             summary="Undo the deletion of a bundled document and re-index it in the background")
async def restore_document(doc_id: str, state: Admin) -> dict[str, Any]:
    if not await run_in_threadpool(state.pipeline.index.docs.restore, doc_id):
        raise AdminError(404, f"{doc_id!r} is not a withdrawn document (GET /api/admin/documents lists them)")
    return start_reindex(state)


@router.post("/reindex", status_code=202, summary="Re-index the corpus and the uploads in the background")
async def reindex(state: Admin) -> dict[str, Any]:
    return start_reindex(state)


def start_reindex(state: ServerState) -> dict[str, Any]:
    """Queue a re-index job (bundled corpus, then uploads) and return it."""
    job_id = uuid.uuid4().hex[:12]
    job: dict[str, Any] = {
        "id": job_id, "state": "queued", "stage": "", "done": 0, "total": 2, "report": None, "error": "",
        "documents": {},  # doc_id -> reading | embedding | indexed | unchanged | withdrawn | failed
    }
    finished = [k for k, j in state.jobs.items() if j["state"] in ("done", "failed")]
    for old in finished[: max(0, len(state.jobs) - MAX_JOBS)]:
        del state.jobs[old]
    state.jobs[job_id] = job
    threading.Thread(target=_run_reindex, args=(state, job), name=f"reindex-{job_id}", daemon=True).start()
    return job


@router.get("/jobs/{job_id}", summary="State and progress of a background job")
async def job_status(job_id: str, state: Admin) -> dict[str, Any]:
    job = state.jobs.get(job_id)
    if job is None:
        raise AdminError(404, f"no job with id {job_id!r}")
    return job


def _run_reindex(state: ServerState, job: dict[str, Any]) -> None:
    """Bundled (or configured) corpus first, then the uploads folder, under the ingest lock;
    each document's state is kept in the job for the corpus page's per-document bars."""
    indexer = Indexer(state.pipeline.index, on_document=job["documents"].__setitem__)
    try:
        with state.ingest_lock:
            job.update(state="running", stage="corpus")
            corpus = indexer.ingest_bundled()
            job.update(done=1, stage="uploads")
            folder = uploads_dir(state)
            uploads = indexer.ingest_paths([folder]) if (folder / MANIFEST_NAME).exists() else None
        report = corpus.public()
        if uploads is not None:
            for key, value in uploads.public().items():
                report[key] = value if key == "chunks" else report[key] + value
        job.update(state="done", done=2, stage="", report=report)
    except Exception as exc:  # noqa: BLE001 - a job must end in a state, whatever happened
        job.update(state="failed", error=str(exc) if isinstance(exc, PolicyQAError) else f"{type(exc).__name__}: {exc}")


# ---- the uploads manifest ------------------------------------------------------------


def read_uploads_manifest(folder: Path) -> list[dict[str, Any]]:
    """The ``[[document]]`` tables of ``uploads/manifest.toml`` (empty when there is none)."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        return []
    try:
        return list(tomllib.loads(path.read_text(encoding="utf-8")).get("document", []))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a readable TOML manifest ({exc}); fix or delete it") from exc


def write_uploads_manifest(folder: Path, entries: list[dict[str, Any]]) -> None:
    """Write the manifest in the format of rag/ingest/manifest.py, atomically."""
    out = ["# Documents uploaded through the admin API; written by policy-qa, read by `policy-qa ingest`.", ""]
    for e in entries:
        out.append("[[document]]")
        for key in ("id", "path", "title", "kind", "issuer", "date", "doc_number", "source_url",
                    "cities", "domains", "language", "subtitle", "legal_level", "date_effective", "status",
                    "status_note", "aliases", "notice"):
            if e.get(key) not in (None, "", []):
                out.append(f"{key} = {_toml_value(e[key])}")
        out.append("")
    tmp = folder / f".{MANIFEST_NAME}.tmp"
    tmp.write_text("\n".join(out), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_NAME)


def _toml_value(value: Any) -> str:
    # JSON strings are valid TOML basic strings (same escapes), and JSON arrays of strings
    # are valid TOML arrays.
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(str(v), ensure_ascii=False) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def install(app: Any) -> None:
    """Add the admin routes and the handlers that turn errors into JSON (sizes: ui.limits)."""

    async def handle(_: Request, exc: AdminError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=exc.headers)

    async def handle_library(_: Request, exc: PolicyQAError) -> JSONResponse:
        return error_response(exc)

    app.add_exception_handler(AdminError, handle)
    app.add_exception_handler(PolicyQAError, handle_library)
    app.include_router(router)
    app.include_router(pages)
