"""/api/autoreply: the signed-in user's keyword rules and away message.

Each user sees and changes only their own: another user's rule is a 404, as a rule that does not
exist (nobody learns which ids others hold).
"""
from __future__ import annotations

from server import access, openapi
from server.errors import NotFound, ValidationFailed
from server.handlers import BaseHandler
from server.pagination import PageSchema, page

from wamulti_autoreply import store
from wamulti_autoreply.schemas import AutoreplyAwaySchema, AutoreplyRuleSchema

RULE = AutoreplyRuleSchema()
AWAY = AutoreplyAwaySchema()
TAGS = ["autoreply"]


def parse_rule_id(text: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound("No such rule.")
    return int(text)


class AutoreplyRulesHandler(BaseHandler):
    @access.user
    @openapi.doc(
        summary="List keyword rules",
        description="The caller's rules, in the order the bot tries them (oldest first).",
        query=PageSchema, responses={200: openapi.list_of(AutoreplyRuleSchema)}, tags=TAGS,
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows, total = await store.list_rules(self.db, int(self.current_user["id"]), args["limit"], args["offset"])
        self.write_json(page(RULE.dump([store.rule_answer(row) for row in rows], many=True), total, args))

    @access.user
    @openapi.doc(
        summary="Add a keyword rule",
        description="When a message someone sends the caller matches `keyword`, the bot answers `reply` "
        "(at most once per chat within `autoreply.window_seconds`). Rules are tried oldest first; the first "
        "that matches answers, before the away message.",
        body=AutoreplyRuleSchema,
        responses={201: openapi.Response(AutoreplyRuleSchema, "The rule.", headers={"Location": "The rule's URL."})},
        errors={409: "The caller holds autoreply.max_rules_per_user rules already."}, tags=TAGS,
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        row = await store.create_rule(self.db, int(self.current_user["id"]), data,
                                      max_per_user=self.config["autoreply"]["max_rules_per_user"])
        self.set_header("Location", f"/api/autoreply/rules/{row['id']}")
        self.write_json(RULE.dump(store.rule_answer(row)), status=201)


class AutoreplyRuleHandler(BaseHandler):
    @access.user
    @openapi.doc(summary="Get a keyword rule", responses={200: AutoreplyRuleSchema}, tags=TAGS)
    async def get(self, rule_id: str) -> None:
        row = await store.get_rule(self.db, int(self.current_user["id"]), parse_rule_id(rule_id))
        self.write_json(RULE.dump(store.rule_answer(row)))

    @access.user
    @openapi.doc(summary="Change a keyword rule", description="Any subset of its fields.",
                 body=AutoreplyRuleSchema(partial=True), responses={200: AutoreplyRuleSchema}, tags=TAGS)
    async def patch(self, rule_id: str) -> None:
        data = openapi.load_body(self)  # bad input is refused before anything is looked up
        if not data:
            raise ValidationFailed({"_schema": ["Send at least one field to change."]})
        user_id, wanted = int(self.current_user["id"]), parse_rule_id(rule_id)
        await store.get_rule(self.db, user_id, wanted)
        row = await store.update_rule(self.db, user_id, wanted, data)
        self.write_json(RULE.dump(store.rule_answer(row)))

    @access.user
    @openapi.doc(summary="Delete a keyword rule", responses={204: "Deleted."}, tags=TAGS)
    async def delete(self, rule_id: str) -> None:
        if not await store.delete_rule(self.db, int(self.current_user["id"]), parse_rule_id(rule_id)):
            raise NotFound("No such rule.")
        self.set_status(204)
        self.finish()


class AutoreplyAwayHandler(BaseHandler):
    @access.user
    @openapi.doc(summary="Get the away message",
                 description="The caller's away message and office hours; the defaults (off) until they set one.",
                 responses={200: AutoreplyAwaySchema}, tags=TAGS)
    async def get(self) -> None:
        self.write_json(AWAY.dump(await store.get_away(self.db, int(self.current_user["id"]))))

    @access.user
    @openapi.doc(
        summary="Set the away message",
        description="Replaces the away message and office hours. When `enabled`, whoever writes to the caller "
        "outside the hours (read in `timezone`) gets `message`, unless a keyword rule answers, at most once per "
        "chat within `autoreply.window_seconds`.",
        body=AutoreplyAwaySchema, responses={200: AutoreplyAwaySchema}, tags=TAGS,
    )
    async def put(self) -> None:
        data = openapi.load_body(self)
        self.write_json(AWAY.dump(await store.put_away(self.db, int(self.current_user["id"]), data)))


default_handlers = [
    (r"/api/autoreply/rules", AutoreplyRulesHandler),
    (r"/api/autoreply/rules/(?P<rule_id>[0-9]+)", AutoreplyRuleHandler),
    (r"/api/autoreply/away", AutoreplyAwayHandler),
]
