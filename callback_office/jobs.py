"""Tracked background jobs: enqueue after commit, report progress, show a progress page.

Any app can run a long office operation (an import, a payout computation, an Excel export) as a
tracked job and send the user to its progress page:

    from callback_office.jobs import enqueue_tracked, job_url, report_progress, save_result_file

    def export_payouts(*, run_id: int) -> None:          # the job: a plain module-level function
        rows = ...
        for i, row in enumerate(rows, 1):
            ...
            report_progress(i, len(rows))               # percent and rows done on the page
        save_result_file(data, name="exports/payouts/x.xlsx", filename="发放表.xlsx")
                                                         # stored, a download link when finished

    job_id = enqueue_tracked(export_payouts, queue="default", user=request.user,
                             label=gettext("导出发放表"), run_id=run.pk)
    if job_id is None:                                   # Redis down: logged, tell the user
        messages.error(request, ENQUEUE_FAILED_MESSAGE)
    else:
        return redirect(job_url(job_id))

The job is enqueued in `transaction.on_commit`, so it sees what the request saved. Raise
`ValidationError` with a Chinese message for an expected failure: the page shows that message;
any other exception shows a generic Chinese message (the traceback stays in rq's failed-job
registry, visible in the office-only dashboard at /admin/rq/). Only the job's owner and the
office can open its page; anyone else gets 404.

Result files live in the default storage (MEDIA_ROOT, or the bucket with MEDIA_STORAGE=s3), so
the web process that serves the download need not be the host whose worker wrote it.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import Callable
from functools import wraps
from typing import IO, Any

import django_rq
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from redis import ConnectionPool, Redis
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from callback_office.media import safe_name, serve_stored_file
from callback_office.roles import is_office

logger = logging.getLogger(__name__)

ENQUEUE_FAILED_MESSAGE = _("任务队列暂时不可用（Redis 无法连接），任务未能提交，请稍后重试或联系管理员。")
GENERIC_ERROR_MESSAGE = _("任务执行出错，请联系管理员查看任务队列中的失败记录。")
DISK_FULL_MESSAGE = _(
    "服务器磁盘空间不足，导出文件未能保存（没有留下不完整的文件）。请联系管理员清理空间后重新导出。"
)
SAVE_FAILED_MESSAGE = _("导出文件未能保存（没有留下不完整的文件）。请稍后重试，或联系管理员。")
DEFAULT_RESULT_TTL = 7 * 24 * 3600

STATUS_LABELS = {
    JobStatus.QUEUED: _("排队中"),
    JobStatus.STARTED: _("进行中"),
    JobStatus.DEFERRED: _("等待中"),
    JobStatus.SCHEDULED: _("等待重试"),
    JobStatus.FINISHED: _("已完成"),
    JobStatus.FAILED: _("失败"),
    JobStatus.STOPPED: _("已停止"),
    JobStatus.CANCELED: _("已取消"),
}


class EnqueueError(Exception):
    """Redis could not take the job (logged; callers get None from `enqueue_tracked`)."""


def _func_path(func: Callable | str) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def _ping(connection: Redis) -> None:
    """Ping with short timeouts, so an unreachable Redis fails fast instead of hanging a request."""
    kwargs = {
        **connection.connection_pool.connection_kwargs,
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
    }
    probe = Redis(
        connection_pool=ConnectionPool(connection_class=connection.connection_pool.connection_class, **kwargs)
    )
    try:
        probe.ping()
    finally:
        probe.close()


def queue_available(queue: str = "default") -> bool:
    """Can the queue's Redis be reached right now? (Pages show the office when it cannot.)"""
    try:
        _ping(django_rq.get_connection(queue))
    except Exception:
        logger.warning("queue %s: Redis unreachable", queue, exc_info=True)
        return False
    return True


def enqueue_tracked(
    func: Callable | str,
    *args: Any,
    queue: str = "default",
    user: Any,
    label: str,
    job_timeout: int | None = None,
    retry: Retry | None = None,
    **kwargs: Any,
) -> str | None:
    """Enqueue `func(*args, **kwargs)` as a tracked job on commit; return its id, or None.

    `user` owns the job (may open its page), `label` is the Chinese title shown on the page.
    `job_timeout` defaults to the queue's DEFAULT_TIMEOUT (settings.RQ_QUEUES). `retry` is an
    rq `Retry` for jobs that are safe to re-run. Returns None (and logs) when Redis cannot be
    reached; no request path of callers depends on the queue.
    """
    job_id = uuid.uuid4().hex
    meta = {
        "owner_id": getattr(user, "pk", None),
        "label": str(label),
        "progress": {"done": 0, "total": 0},
    }
    try:
        q = django_rq.get_queue(queue, commit_mode="auto")
        _ping(q.connection)
    except Exception:
        logger.exception("enqueue failed: Redis unreachable for queue %s (%s)", queue, _func_path(func))
        return None

    timeout = job_timeout or settings.RQ_QUEUES[queue].get("DEFAULT_TIMEOUT")

    def _enqueue() -> None:
        try:
            q.enqueue_call(
                run_tracked,
                args=(_func_path(func), *args),
                kwargs=kwargs,
                job_id=job_id,
                timeout=timeout,
                result_ttl=DEFAULT_RESULT_TTL,
                failure_ttl=DEFAULT_RESULT_TTL,
                meta=meta,
                retry=retry,
            )
        except Exception:
            logger.exception("enqueue failed after commit: job %s (%s)", job_id, _func_path(func))

    transaction.on_commit(_enqueue)
    return job_id


def run_tracked(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """What the worker runs: the job function, with a Chinese error kept for the page."""
    func = import_string(func_path)
    job = get_current_job()
    try:
        result = func(*args, **kwargs)
    except ValidationError as exc:
        if job is not None:
            job.meta["error"] = "；".join(str(m) for m in exc.messages)
            job.save_meta()
        raise
    except Exception:
        if job is not None:
            job.meta["error"] = str(GENERIC_ERROR_MESSAGE)
            job.save_meta()
        raise
    if job is not None:
        job.refresh()
        progress = job.meta.get("progress") or {}
        total = progress.get("total") or progress.get("done") or 1
        job.meta["progress"] = {"done": total, "total": total}
        job.meta.pop("error", None)
        job.save_meta()
    return result


def report_progress(done: int, total: int) -> None:
    """Inside a job: record rows done of total (shown as percent on the job page).

    Outside a worker (e.g. `manage.py run_job`) this does nothing.
    """
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = {"done": int(done), "total": int(total)}
    job.save_meta()


def save_result_file(content: bytes | IO[bytes], *, name: str, filename: str) -> str:
    """Store a job's product (bytes or a binary file object) as `name` in the default storage
    and, inside a job, offer it for download on the job page as `filename`. Returns the stored
    name (the storage may add a suffix: existing objects are never overwritten)."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    target = default_storage.get_available_name(safe_name(name))
    try:
        stored = default_storage.save(target, content)
    except OSError as exc:
        # a full disk (or quota) mid-write: the file system storage leaves the partial file behind
        try:
            if default_storage.exists(target):
                default_storage.delete(target)
        except OSError:
            logger.exception("could not remove the partial export %s", target)
        logger.error("saving %s failed: %s", target, exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ValidationError(DISK_FULL_MESSAGE) from exc
        raise ValidationError(SAVE_FAILED_MESSAGE) from exc
    set_result_file(stored, filename=filename)
    return stored


def set_result_file(name: str, *, filename: str) -> None:
    """Inside a job: offer `name`, already saved in the default storage, for download on the
    job page as `filename`."""
    job = get_current_job()
    if job is None:
        return
    job.meta["result_file"] = {"name": safe_name(str(name)), "filename": filename}
    job.save_meta()


def set_result_url(url: str) -> None:
    """Inside a job: link the finished job's page to a result page (e.g. a reconciliation run)."""
    job = get_current_job()
    if job is None:
        return
    job.meta["result_url"] = url
    job.save_meta()


def job_url(job_id: str) -> str:
    return reverse("job_page", args=[job_id])


def rq_dashboard_urls() -> tuple[list, str]:
    """django-rq's dashboard for the office only (it is staff-only by itself): staff users
    without the office role get 403, everyone else django-rq's own staff-login redirect."""
    from django_rq import urls as rq_urls

    patterns = []
    for pattern in rq_urls.urlpatterns:
        view = pattern.callback

        def office_only(request, *args, _view=view, **kwargs):
            if request.user.is_authenticated and request.user.is_staff and not is_office(request.user):
                raise PermissionDenied
            return _view(request, *args, **kwargs)

        pattern.callback = wraps(view)(office_only)
        patterns.append(pattern)
    return patterns, getattr(rq_urls, "app_name", "django_rq")


# --- the progress page -------------------------------------------------------------------------


def _job_for(request: HttpRequest, job_id: str) -> Job:
    """The job if the user owns it or is office staff (who also see untracked jobs, e.g. the
    cron's); 404 otherwise, also when Redis is down."""
    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection("default"))
    except (NoSuchJobError, ValueError):
        raise Http404 from None
    except Exception:
        logger.exception("job page: Redis unreachable for job %s", job_id)
        raise Http404 from None
    owner_id = job.meta.get("owner_id")
    if not is_office(request.user) and (owner_id is None or owner_id != request.user.pk):
        raise Http404
    return job


def _job_context(job: Job) -> dict[str, Any]:
    status = job.get_status()
    progress = job.meta.get("progress") or {}
    done = int(progress.get("done") or 0)
    total = int(progress.get("total") or 0)
    if status == JobStatus.FINISHED:
        percent = 100
    elif total:
        percent = min(100, int(done * 100 / total))
    else:
        percent = 0
    finished = status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    error = job.meta.get("error") or (str(GENERIC_ERROR_MESSAGE) if status == JobStatus.FAILED else "")
    return {
        "job": job,
        "label": job.meta.get("label", ""),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "done": done,
        "total": total,
        "percent": percent,
        "finished": finished,
        "failed": status == JobStatus.FAILED,
        "error": error if status in (JobStatus.FAILED, JobStatus.SCHEDULED) else "",
        "result_file": job.meta.get("result_file") if status == JobStatus.FINISHED else None,
        "result_url": job.meta.get("result_url") if status == JobStatus.FINISHED else None,
    }


@login_required
def job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    """The progress page; htmx polls the fragment every second until the job ends."""
    job = _job_for(request, job_id)
    context = _job_context(job)
    if request.htmx:
        return render(request, "jobs/_progress.html", context)
    return render(request, "jobs/job_page.html", context)


@login_required
def job_download(request: HttpRequest, job_id: str) -> HttpResponse:
    """The finished job's result file, to its owner and the office (from the default storage;
    "path" is the key of results written before files went through the storage API)."""
    job = _job_for(request, job_id)
    result = job.meta.get("result_file")
    if job.get_status() != JobStatus.FINISHED or not result:
        raise Http404
    name = result.get("name") or result.get("path") or ""
    return serve_stored_file(default_storage, name, filename=result["filename"], as_attachment=True)
