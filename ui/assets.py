"""Static assets the app serves itself: the demo catalog's images at ``/demo-images/<name>``.

SVG is a document format, so each answer forbids scripts and sniffing
(``Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'``) even though our
drawings carry none; an unknown or crafted name is a 404.
"""

from __future__ import annotations

from assistant.media import URL_PREFIX, image_file, media_type

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=86400",
}


def demo_images_route(app) -> None:
    """Add ``GET /demo-images/{name}`` to a FastAPI ``app``."""
    from fastapi import HTTPException
    from fastapi.responses import FileResponse

    @app.get(URL_PREFIX + "{name}", include_in_schema=False)
    def demo_image(name: str):
        path = image_file(name)
        if path is None:
            raise HTTPException(status_code=404, detail="no such demo image")
        return FileResponse(path, media_type=media_type(path), headers=HEADERS)
