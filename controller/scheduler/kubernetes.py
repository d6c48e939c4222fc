"""Apps as Kubernetes namespaces, through the official `kubernetes` client.

The client is synchronous, so every call runs in a thread. Configuration
comes from the pod's service account in a cluster, else from a kubeconfig
file (`load_api_client`); nothing here depends on where the API server is.

The one place the Kubernetes client's errors become the controller's:

    config.ConfigException, OSError on load   -> SchedulerError (its message)
    ApiException 409 on create, not ours      -> Conflict
    ApiException 404 on read or delete        -> the namespace is absent (no error)
    any other ApiException                    -> SchedulerError with the API's Status message
    urllib3 HTTPError, OSError (no answer)    -> SchedulerError, logged with its traceback

Messages never hold the cluster's credentials: a Status message names the
object, a transport error only its type.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from controller.errors import Conflict, SchedulerError
from controller.scheduler.base import HERITAGE, HERITAGE_LABEL, MANAGED_BY, MANAGED_BY_LABEL

log = logging.getLogger("controller.scheduler")
# How often a namespace being deleted is looked at again.
POLL_INTERVAL = 0.25


def load_api_client(kubeconfig: Path | None, in_cluster: bool) -> client.ApiClient:
    """In a pod, the service account; else the kubeconfig (KUBECONFIG or ~/.kube/config)."""
    try:
        if in_cluster:
            config.load_incluster_config()
            return client.ApiClient()
        return config.new_client_from_config(
            config_file=str(kubeconfig) if kubeconfig is not None else None
        )
    except (config.ConfigException, OSError) as error:
        raise SchedulerError(f"cannot load the Kubernetes configuration: {error}") from None


class KubernetesScheduler:
    def __init__(
        self, api_client: client.ApiClient, delete_timeout: float, request_timeout: float
    ) -> None:
        self._api_client = api_client
        self._core = client.CoreV1Api(api_client)
        self._delete_timeout = delete_timeout
        self._request_timeout = request_timeout

    async def create_app(self, app: str) -> None:
        body = client.V1Namespace(
            metadata=client.V1ObjectMeta(
                name=app,
                labels={MANAGED_BY_LABEL: MANAGED_BY, HERITAGE_LABEL: HERITAGE, "app": app},
            )
        )
        try:
            await self._call(self._core.create_namespace, body)
        except ApiException as error:
            if error.status != 409:
                raise _failure("create", app, error) from None
            # It exists: ours (an earlier attempt) is fine, anyone else's is not.
            existing = await self._read(app)
            if existing is None or not _managed(existing) or _terminating(existing):
                raise Conflict(
                    f"a Kubernetes namespace named {app} already exists and is not managed "
                    "by this platform (or is being deleted); choose another app name"
                ) from None
        log.info("created namespace %s", app)

    async def destroy_app(self, app: str) -> None:
        try:
            await self._call(self._core.delete_namespace, app)
        except ApiException as error:
            if error.status == 404:
                return
            raise _failure("delete", app, error) from None
        deadline = time.monotonic() + self._delete_timeout
        while await self._read(app) is not None:
            if time.monotonic() >= deadline:
                raise SchedulerError(
                    f"namespace {app} is still terminating after {self._delete_timeout:g}s; "
                    "try destroying the app again later"
                )
            await asyncio.sleep(POLL_INTERVAL)
        log.info("deleted namespace %s", app)

    async def close(self) -> None:
        await asyncio.to_thread(self._api_client.close)

    async def _read(self, app: str) -> Any:
        try:
            return await self._call(self._core.read_namespace, app)
        except ApiException as error:
            if error.status == 404:
                return None
            raise _failure("read", app, error) from None

    async def _call(self, method: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args, _request_timeout=self._request_timeout)
        except (urllib3.exceptions.HTTPError, OSError) as error:  # no answer: connect, timeout
            # The traceback for the operator; the user's message holds only the type.
            log.warning("Kubernetes API call %s failed", method.__name__, exc_info=True)
            raise SchedulerError(
                f"cannot reach the Kubernetes API: {type(error).__name__}"
            ) from None


def _managed(namespace: Any) -> bool:
    labels = namespace.metadata.labels or {}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGED_BY)


def _terminating(namespace: Any) -> bool:
    return namespace.status is not None and namespace.status.phase == "Terminating"


def _failure(action: str, app: str, error: ApiException) -> SchedulerError:
    # The API's Status object says why; its message is safe to show.
    try:
        message = json.loads(error.body or "{}").get("message") or error.reason
    except (ValueError, AttributeError):
        message = error.reason
    return SchedulerError(
        f"Kubernetes refused to {action} namespace {app}: {error.status} {message}"
    )
