"""The domain, standard library only: problems catalogue, records, run result, template contract and sheet names, registry, pure consolidation, accounting."""
