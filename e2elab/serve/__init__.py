"""``e2elab serve``: a local web page and a JSON API with the loaded pipelines side by side.

Needs the ``serve`` extra (FastAPI, uvicorn, python-multipart)::

    from e2elab.serve.app import create_app
    from e2elab.serve.models import load_models
    app = create_app(load_models(["runs/demo"]))   # then: uvicorn.run(app)
"""
