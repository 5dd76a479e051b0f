"""Every write of the 议事 loop, one module per topic (as Zulip's `zerver/actions/`). Import from
the module that holds the function: `deliberation.actions.topics` (propose, edit), `stages`
(moving a topic along `Topic.TRANSITIONS`), `supports` (附议, follow), `replies`, `votes`
(ballots, tally, close), `milestones`, `evaluations`, `moderation`, `reports` (举报),
`content_checks` (late verdicts); `common` and `moves` hold what several of them share.

Each `do_*` runs in one transaction, locks the topic row it changes (SELECT ... FOR UPDATE),
logs what happened and publishes on commit; validation and WeChat's content check run before
the transaction opens."""
