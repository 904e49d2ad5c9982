"""The admin CLI against the real binary: principals, keys, policies, quotas, audit.

Every admin step goes through `basalt <command>` (the CLI talks to the admin API at BASALT_URL
with BASALT_ADMIN_KEY); data-plane checks are plain HTTP requests with the created keys.
"""
import itertools
import json
import os
import sqlite3
import subprocess
import tempfile
import unittest

from harness import (ADMIN_KEY, BASALT, chat_body, single_route_model, start_gateway,
                     start_mock)

REGION = "us-east-1"
MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/gpt-mock"
ALLOW_INVOKE = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Invoke", "Effect": "Allow", "Action": "bedrock:InvokeModel",
                   "Resource": MODEL_ARN}],
}
_names = itertools.count(1)


def unique(prefix):
    return f"{prefix}-{os.getpid()}-{next(_names)}"


class AdminCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = start_mock()
        cls.gw = start_gateway([("mock", cls.mock)], single_route_model())
        cls.config_dir = os.path.dirname(cls.gw.args[-1])
        cls.data_dir = os.path.join(cls.config_dir, "data")
        cls.tmp = tempfile.mkdtemp(prefix="basalt-admin-it-")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    # -- helpers ----------------------------------------------------------------------------

    def cli(self, *args, key=ADMIN_KEY, stdin=None):
        """Runs `basalt ARGS`; returns (exit code, stdout, stderr)."""
        env = dict(os.environ)
        env["BASALT_URL"] = f"http://{self.gw.address}"
        env["BASALT_ADMIN_KEY"] = key
        p = subprocess.run([BASALT, *args], env=env, input=stdin, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args):
        """Runs a command that must succeed and returns its parsed JSON output."""
        rc, out, err = self.cli(*args)
        self.assertEqual(rc, 0, f"basalt {' '.join(args)}: {err}")
        self.assertEqual(err, "")
        return json.loads(out)

    def fails(self, *args, key=ADMIN_KEY):
        """Runs a command that must fail with one line on stderr; returns that line."""
        rc, out, err = self.cli(*args, key=key)
        self.assertNotEqual(rc, 0, f"basalt {' '.join(args)} succeeded: {out}")
        self.assertEqual(out, "")
        self.assertEqual(err.count("\n"), 1, err)
        return err

    def policy_file(self, document):
        path = os.path.join(self.tmp, unique("policy") + ".json")
        with open(path, "w") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))
        return path

    def chat(self, api_key):
        return self.gw.request("POST", "/v1/chat/completions", chat_body("hi"),
                               {"authorization": f"Bearer {api_key}"})

    def user_with_key(self, *groups):
        name = unique("user")
        args = ["principal", "create", name]
        for g in groups:
            args += ["--group", g]
        created = self.ok(*args)
        self.assertEqual(created["name"], name)
        self.assertEqual(sorted(created["groups"]), sorted(groups))
        key = self.ok("key", "create", name)
        self.assertEqual(set(key), {"key_id", "api_key"})
        return name, key

    # -- tests ------------------------------------------------------------------------------

    def test_key_is_denied_until_a_policy_allows_then_revoked(self):
        name, key = self.user_with_key()
        status, _, body = self.chat(key["api_key"])
        self.assertEqual(status, 403, body)

        policy = unique("invoke")
        self.ok("policy", "put", policy, self.policy_file(ALLOW_INVOKE))
        attached = self.ok("policy", "attach", policy, name)
        self.assertEqual(attached["subject"]["name"], name)
        status, _, body = self.chat(key["api_key"])
        self.assertEqual(status, 200, body)

        self.ok("key", "revoke", key["key_id"])
        status, _, body = self.chat(key["api_key"])
        self.assertEqual(status, 401, body)

    def test_policy_attached_to_a_group_applies_to_its_members(self):
        group = unique("team")
        _, key = self.user_with_key(group)
        self.assertEqual(self.chat(key["api_key"])[0], 403)
        policy = unique("team-invoke")
        self.ok("policy", "put", policy, self.policy_file(ALLOW_INVOKE))
        self.ok("policy", "attach", policy, group)
        self.assertEqual(self.chat(key["api_key"])[0], 200)

    def test_sigv4_key_shape(self):
        name = unique("svc")
        self.ok("principal", "create", name)
        key = self.ok("key", "create", name, "--sigv4")
        self.assertEqual(set(key), {"key_id", "access_key_id", "secret_access_key"})
        self.assertTrue(key["access_key_id"].startswith("AKIA"))
        self.assertEqual(len(key["secret_access_key"]), 40)
        listed = self.ok("key", "list")["keys"]
        mine = [k for k in listed if k["key_id"] == key["access_key_id"]]
        self.assertEqual(len(mine), 1)
        self.assertNotIn(key["secret_access_key"], json.dumps(listed))

    def test_bad_policy_is_refused_naming_the_statement(self):
        bad = {"Version": "2012-10-17", "Statement": [
            ALLOW_INVOKE["Statement"][0],
            {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*",
             "Condition": {"StringEqualz": {"aws:username": "x"}}}]}
        err = self.fails("policy", "put", unique("bad"), self.policy_file(bad))
        self.assertIn("Statement[1]", err)
        err = self.fails("policy", "put", unique("bad"), self.policy_file("{not json"))
        self.assertIn("HTTP 400", err)

    def test_cli_errors(self):
        self.assertIn("HTTP 401", self.fails("principal", "create", unique("x"), key="bsk-wrong"))
        name = unique("dup")
        self.ok("principal", "create", name)
        self.assertIn("HTTP 409", self.fails("principal", "create", name))
        self.assertIn("HTTP 404", self.fails("key", "create", unique("nobody")))
        self.assertIn("HTTP 404", self.fails("key", "revoke", "nosuchkey0000000"))
        self.assertIn("HTTP 404", self.fails("policy", "attach", unique("nopolicy"), name))
        self.assertIn("HTTP 400", self.fails("quota", "set", name, "--rpm", "0"))

    def test_quota_rpm(self):
        name, key = self.user_with_key()
        policy = unique("quota-invoke")
        self.ok("policy", "put", policy, self.policy_file(ALLOW_INVOKE))
        self.ok("policy", "attach", policy, name)
        quota = self.ok("quota", "set", name, "--rpm", "2")
        self.assertEqual(quota["rpm"], 2)
        self.assertEqual(self.chat(key["api_key"])[0], 200)
        self.assertEqual(self.chat(key["api_key"])[0], 200)
        status, hdrs, body = self.chat(key["api_key"])
        self.assertEqual(status, 429, body)
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)

    def test_audit_query_and_verify(self):
        name, key = self.user_with_key()
        policy = unique("audit-invoke")
        self.ok("policy", "put", policy, self.policy_file(ALLOW_INVOKE))
        self.ok("policy", "attach", policy, name)
        self.assertEqual(self.chat(key["api_key"])[0], 200)

        rc, out, err = self.cli("audit", "query", "--limit", "0")
        self.assertEqual(rc, 0, err)
        records = [json.loads(line) for line in out.splitlines()]
        admin_calls = [r for r in records
                       if r.get("requestParameters", {}).get("principal") == name]
        names = {r["eventName"] for r in admin_calls}
        self.assertIn("CreatePrincipal", names)
        self.assertIn("CreateKey", names)
        self.assertNotIn(key["api_key"], out)  # the secret is never recorded

        rc, out, err = self.cli("audit", "query", "--principal", name)
        self.assertEqual(rc, 0, err)
        mine = [json.loads(line) for line in out.splitlines()]
        self.assertTrue(mine, "the data-plane call was not found by principal")
        self.assertTrue(all(r["userIdentity"]["userName"] == name for r in mine))

        rc, out, _ = self.cli("audit", "query", "--since", "2200-01-01T00:00:00Z")
        self.assertEqual((rc, out), (0, ""))

        rc, out, err = self.cli("audit", "verify", "--data", self.data_dir)
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)["ok"])


class AuditTamperTest(unittest.TestCase):
    """A separate gateway whose audit database the test alters."""

    def test_verify_names_the_altered_record(self):
        mock = start_mock()
        gw = start_gateway([("mock", mock)], single_route_model())
        try:
            data_dir = os.path.join(os.path.dirname(gw.args[-1]), "data")
            env = dict(os.environ, BASALT_URL=f"http://{gw.address}", BASALT_ADMIN_KEY=ADMIN_KEY)
            for i in range(3):
                subprocess.run([BASALT, "principal", "create", f"p{i}"], env=env, check=True,
                               capture_output=True, timeout=30)
            run = subprocess.run([BASALT, "audit", "verify", "--data", data_dir],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(run.returncode, 0, run.stderr)
            db = sqlite3.connect(os.path.join(data_dir, "basalt.db"))
            (seq,) = db.execute("SELECT seq FROM audit WHERE record LIKE ?",
                                ('%"principal":"p1"%',)).fetchone()
            with db:
                db.execute("UPDATE audit SET record = replace(record, '\"p1\"', '\"px\"') "
                           "WHERE seq = ?", (seq,))
            db.close()
            run = subprocess.run([BASALT, "audit", "verify", "--data", data_dir],
                                 capture_output=True, text=True, timeout=30)
            self.assertNotEqual(run.returncode, 0)
            self.assertEqual(json.loads(run.stdout)["bad_seq"], seq)
            self.assertIn(f"seq {seq}", run.stderr)
        finally:
            gw.stop()
            mock.stop()


if __name__ == "__main__":
    unittest.main()
