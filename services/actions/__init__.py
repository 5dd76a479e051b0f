"""Every write in the services app, one module per topic (as Zulip's `zerver/actions/`). Import
from the module that holds the function: `services.actions.requests` (one-tap create),
`transitions` (the state machine and what each move sets off), `bulk` (the dispatch board's bulk
moves), `ratings`, `follow_up`, `text_review`, `deadlines`, `plans` (recurring services),
`privacy`; `common` and `beneficiaries` hold what several of them share.

Each `do_*` owns its transaction, locks the rows it changes, writes the timeline event and
announces the change on commit; validation and WeChat's content check run before it opens."""
