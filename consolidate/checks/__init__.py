"""Checking figures: validation over the pandera schemas (consolidate.schemas) and plausibility warnings; the only place that knows pandas."""
