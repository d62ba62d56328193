"""An ApiError that also sets headers: 401's WWW-Authenticate, 429's Retry-After."""

from __future__ import annotations

from bridge.http.ports import ApiError


class HeaderedError(ApiError):
    """ApiError plus the headers its answer must carry."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str], field: str | None = None
    ) -> None:
        super().__init__(status, message, field)
        self.headers = headers
