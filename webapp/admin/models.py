"""Admin API for retrainable targets and their model versions: the targets, versions, their files,
promote, rollback and the deploy log.

The HTTP view of the model registry; `webapp/cli/models.py` is its command-line view.
"""

from flask import Response, jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import (
    DeployedSchema,
    DeploymentSchema,
    DeploymentsQuery,
    ErrorSchema,
    ModelVersionSchema,
    TargetSchema,
)
from webapp.apidocs.spec import BINARY
from webapp.auth.access import admin_required, current_admin
from webapp.registry import catalog


@bp.get("/api/admin/targets")
@admin_required
@bp.doc(summary="Retrainable targets")
@bp.response(200, TargetSchema(many=True), description="Tasks and style models.")
def targets():
    """Every retrainable target: tasks and style models, with what is deployed."""
    return jsonify(catalog.targets())


@bp.get("/api/admin/models/<target>")
@admin_required
@bp.doc(summary="Versions of a target, newest first")
@bp.response(200, ModelVersionSchema(many=True), description="Every version.")
def list_models(target: str):
    """Every version of a target, newest first."""
    return jsonify(catalog.versions_of(target))


@bp.get("/api/admin/models/<target>/<version>/files/<path:name>")
@admin_required
@bp.doc(summary="A plot or the metrics file of a model version")
@bp.response(200, BINARY, content_type="image/png", description="The file.")
@bp.alt_response(200, schema={"type": "object"}, description="The file.")
@bp.alt_response(409, response="Conflict")
def model_file(target: str, version: str, name: str):
    """A plot or the metrics of a model version (training curve, ROC curve, confusion matrix)."""
    path = catalog.version_file(target, version, name)
    return Response(
        path.read_bytes(), mimetype="application/json" if name.endswith(".json") else "image/png"
    )


@bp.post("/api/admin/models/<target>/<version>/promote")
@admin_required
@bp.doc(summary="Deploy a version")
@bp.response(200, DeployedSchema, description="Now deployed.")
@bp.alt_response(409, response="Conflict")
def promote(target: str, version: str):
    """Deploy a version of a target."""
    mv = catalog.promote(target, version, current_admin().username)
    return jsonify({"target": target, "deployed": mv.version})


@bp.post("/api/admin/models/<target>/rollback")
@admin_required
@bp.doc(summary="Deploy the previously deployed version again")
@bp.response(200, DeployedSchema, description="The version now deployed.")
@bp.alt_response(409, schema=ErrorSchema, description="Nothing to roll back to.")
def rollback(target: str):
    """Deploy the version that was deployed before the current one."""
    mv = catalog.rollback(target, current_admin().username)
    return jsonify({"target": target, "deployed": mv.version})


@bp.get("/api/admin/deployments")
@admin_required
@bp.doc(summary="The deploy audit log")
@bp.arguments(DeploymentsQuery, location="query")
@bp.response(200, DeploymentSchema(many=True), description="Deploy pointer moves, newest first.")
def deployments(query: dict):
    """The audit log: every move of every deploy pointer, newest first."""
    return jsonify(catalog.deploy_log(query.get("target")))
