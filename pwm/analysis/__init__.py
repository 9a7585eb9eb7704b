"""From run outputs to paper numbers: the tidy scores table, normalisation, rliable aggregates, figures."""
