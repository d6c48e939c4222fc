"""The web console: pages for app developers served by the controller.

The pages are one HTML shell and one bundle (`static/`, built from
`frontend/` with esbuild and committed; a test rebuilds it and compares).
Everything they show comes from the `/v2/` API with the session cookie
(controller/auth/sessions.py). See docs/console.md.
"""
