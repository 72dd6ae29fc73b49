"""Understanding a customer message: language, intent, entities, sentiment."""

from shopassist.engine.nlu.result import Entity, IntentScore, NLUResult, Sentiment

__all__ = ["Entity", "IntentScore", "NLUResult", "Sentiment"]
