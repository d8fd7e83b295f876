"""Admin API for retrainable targets and their model versions: the targets, versions, their files,
promote, rollback and the deploy log."""

from flask import Response, jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.registry import catalog
from webapp.web.validation import query_str


@bp.get("/api/admin/targets")
@admin_required
def targets():
    """Every retrainable target: tasks and style models, with what is deployed.
    ---
    get:
      summary: Retrainable targets
      responses:
        200:
          description: "Tasks and style models."
          content: {application/json: {schema: {type: array, items: Target}}}
    """
    return jsonify(catalog.targets())


@bp.get("/api/admin/models/<target>")
@admin_required
def list_models(target: str):
    """Every version of a target, newest first.
    ---
    get:
      summary: Versions of a target, newest first
      responses:
        200:
          description: "Every version."
          content: {application/json: {schema: {type: array, items: ModelVersion}}}
    """
    return jsonify(catalog.versions_of(target))


@bp.get("/api/admin/models/<target>/<version>/files/<path:name>")
@admin_required
def model_file(target: str, version: str, name: str):
    """A plot or the metrics of a model version (training curve, ROC curve, confusion matrix).
    ---
    get:
      summary: A plot or the metrics file of a model version
      responses:
        200:
          description: "The file."
          content: {image/png: {schema: {type: string, format: binary}}, application/json: {schema: {type: object}}}
        409: Conflict
    """
    path = catalog.version_file(target, version, name)
    return Response(
        path.read_bytes(), mimetype="application/json" if name.endswith(".json") else "image/png"
    )


@bp.post("/api/admin/models/<target>/<version>/promote")
@admin_required
def promote(target: str, version: str):
    """Deploy a version of a target.
    ---
    post:
      summary: Deploy a version
      responses:
        200: {description: "Now deployed.", content: {application/json: {schema: Deployed}}}
        409: Conflict
    """
    mv = catalog.promote(target, version, current_admin().username)
    return jsonify({"target": target, "deployed": mv.version})


@bp.post("/api/admin/models/<target>/rollback")
@admin_required
def rollback(target: str):
    """Deploy the version that was deployed before the current one.
    ---
    post:
      summary: Deploy the previously deployed version again
      responses:
        200:
          description: "The version now deployed."
          content: {application/json: {schema: Deployed}}
        409: {description: "Nothing to roll back to.", content: {application/json: {schema: Error}}}
    """
    mv = catalog.rollback(target, current_admin().username)
    return jsonify({"target": target, "deployed": mv.version})


@bp.get("/api/admin/deployments")
@admin_required
def deployments():
    """The audit log: every move of every deploy pointer, newest first.
    ---
    get:
      summary: The deploy audit log
      parameters:
        - {name: target, in: query, schema: {type: string, maxLength: 200}, description: "Only this target."}
      responses:
        200:
          description: "Deploy pointer moves, newest first."
          content: {application/json: {schema: {type: array, items: Deployment}}}
    """
    return jsonify(catalog.deploy_log(query_str("target")))
