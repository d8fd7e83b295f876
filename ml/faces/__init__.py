"""Face tasks: find every face (``align``), the pretrained face networks (``networks``, ``wheels``),
the face models that serve them (``model``), retraining a head (``train``) and the evidence on
bundled evaluation sets (``evidence``)."""
