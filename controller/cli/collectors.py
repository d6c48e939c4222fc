"""`wf collectors`: the configuration of what runs beside the apps.

    $ wf collectors fluent-bit-config --logger logger-0.logger:24224 \\
          --logger logger-1.logger:24224 -o fluent-bit.yaml

Secrets stay out of the generated file: it names environment variables
(`${FLUENT_BIT_SHARED_KEY}`) that the DaemonSet fills from a Secret, unless
`--inline-secrets` asks for their values to be written in.
"""

from __future__ import annotations

import os
from typing import IO

import click

from collectors.fluent_bit import (
    ConfigError,
    EnvSecret,
    FluentBitSettings,
    InlineSecret,
    LoggerAddress,
    Secret,
    render_config,
)
from collectors.fluent_bit.settings import PLATFORM_NAMESPACES

_DEFAULTS = FluentBitSettings()


@click.group("collectors")
def collectors() -> None:
    """Configuration for the node collectors (Fluent Bit DaemonSet)."""


@collectors.command("fluent-bit-config")
@click.option(
    "--logger",
    "loggers",
    multiple=True,
    metavar="HOST:PORT",
    help="A logger replica's forward input; repeat for every replica "
    "(default workflow-logger:24224).",
)
@click.option("--tls/--no-tls", default=True, show_default=True, help="TLS to the loggers.")
@click.option("--tls-ca-file", help="CA bundle for the loggers' certificates (default: system).")
@click.option(
    "--tls-verify/--no-tls-verify", default=True, show_default=True, help="Check the certificate."
)
@click.option(
    "--shared-key-env",
    default=_DEFAULTS.shared_key.variable if isinstance(_DEFAULTS.shared_key, EnvSecret) else "",
    show_default=True,
    help="Environment variable of Fluent Bit holding the shared key.",
)
@click.option("--no-shared-key", is_flag=True, help="The loggers use no shared key.")
@click.option("--username", help="Forward user name (the logger's WF_FORWARD_USERS).")
@click.option(
    "--password-env",
    default=_DEFAULTS.password.variable if isinstance(_DEFAULTS.password, EnvSecret) else "",
    show_default=True,
    help="Environment variable of Fluent Bit holding the user's password.",
)
@click.option(
    "--inline-secrets",
    is_flag=True,
    help="Write the shared key and password themselves, read now from those variables.",
)
@click.option(
    "--exclude-namespace",
    "excluded_namespaces",
    multiple=True,
    help="A namespace whose pods are not shipped; repeat "
    f"(default {', '.join(PLATFORM_NAMESPACES)}).",
)
@click.option("--no-excluded-namespaces", is_flag=True, help="Ship every namespace.")
@click.option("--log-path", default=_DEFAULTS.log_path, show_default=True, help="Files to tail.")
@click.option("--db-path", default=_DEFAULTS.db_path, show_default=True, help="Position database.")
@click.option(
    "--storage-path", default=_DEFAULTS.storage_path, show_default=True, help="Buffer folder."
)
@click.option(
    "--storage-total-limit-size",
    default=_DEFAULTS.storage_total_limit_size,
    show_default=True,
    help="Disk the buffer may use; past it the oldest chunks are dropped.",
)
@click.option(
    "--mem-buf-limit",
    default=_DEFAULTS.mem_buf_limit,
    show_default=True,
    help="Memory limit of the tail input.",
)
@click.option(
    "--metrics-listen", default=_DEFAULTS.metrics_listen, show_default=True, help="Metrics address."
)
@click.option(
    "--metrics-port", default=_DEFAULTS.metrics_port, show_default=True, help="Metrics port."
)
@click.option(
    "--config-path",
    default=_DEFAULTS.config_path,
    show_default=True,
    help="Where the DaemonSet mounts this file (the forward output reads its loggers from it).",
)
@click.option("--kube-url", default=_DEFAULTS.kube_url, show_default=True, help="API server.")
@click.option(
    "--kube-meta-preload-cache-dir",
    help="Folder of <namespace>_<pod>.meta Pod objects (tests; default: none).",
)
@click.option(
    "--flush", default=_DEFAULTS.flush_seconds, show_default=True, help="Flush every N seconds."
)
@click.option(
    "--refresh-interval",
    default=_DEFAULTS.refresh_interval_seconds,
    show_default=True,
    help="Seconds between scans for new log files.",
)
@click.option(
    "--scheduler-base",
    default=_DEFAULTS.scheduler_base_seconds,
    show_default=True,
    help="Retry backoff base, seconds.",
)
@click.option(
    "--scheduler-cap",
    default=_DEFAULTS.scheduler_cap_seconds,
    show_default=True,
    help="Longest wait between retries, seconds.",
)
@click.option("--log-level", default=_DEFAULTS.log_level, show_default=True, help="Fluent Bit's.")
@click.option(
    "-o", "--output", type=click.File("w"), default="-", help="File to write (default stdout)."
)
def fluent_bit_config(
    loggers: tuple[str, ...],
    tls: bool,
    tls_ca_file: str | None,
    tls_verify: bool,
    shared_key_env: str,
    no_shared_key: bool,
    username: str | None,
    password_env: str,
    inline_secrets: bool,
    excluded_namespaces: tuple[str, ...],
    no_excluded_namespaces: bool,
    log_path: str,
    db_path: str,
    storage_path: str,
    storage_total_limit_size: str,
    mem_buf_limit: str,
    metrics_listen: str,
    metrics_port: int,
    config_path: str,
    kube_url: str,
    kube_meta_preload_cache_dir: str | None,
    flush: float,
    refresh_interval: int,
    scheduler_base: int,
    scheduler_cap: int,
    log_level: str,
    output: IO[str],
) -> None:
    """Print the Fluent Bit 5 YAML config of the node DaemonSet."""
    try:
        shared_key = None if no_shared_key else _secret(shared_key_env, inline_secrets)
        settings = FluentBitSettings(
            loggers=tuple(map(LoggerAddress.parse, loggers)) or _DEFAULTS.loggers,
            tls=tls,
            tls_verify=tls_verify,
            tls_ca_file=tls_ca_file,
            shared_key=shared_key,
            username=username,
            password=_secret(password_env, inline_secrets and username is not None),
            excluded_namespaces=()
            if no_excluded_namespaces
            else excluded_namespaces or PLATFORM_NAMESPACES,
            log_path=log_path,
            db_path=db_path,
            storage_path=storage_path,
            storage_total_limit_size=storage_total_limit_size,
            mem_buf_limit=mem_buf_limit,
            metrics_listen=metrics_listen,
            metrics_port=metrics_port,
            config_path=config_path,
            kube_url=kube_url,
            kube_meta_preload_cache_dir=kube_meta_preload_cache_dir,
            flush_seconds=flush,
            refresh_interval_seconds=refresh_interval,
            scheduler_base_seconds=scheduler_base,
            scheduler_cap_seconds=scheduler_cap,
            log_level=log_level,
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    output.write(render_config(settings))


def _secret(variable: str, inline: bool) -> Secret:
    reference = EnvSecret(variable)
    if not inline:
        return reference
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"--inline-secrets: ${variable} is not set")
    return InlineSecret(value)
