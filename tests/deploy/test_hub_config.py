"""deploy/jupyterhub's configuration alone: the hub's defaults (local, naming the course), no passwordless login on
a public address, the attendees' student id from the hub only when told, shared mode for dummy trials only; and
the Kubernetes values (deploy/jupyterhub/config.yaml) checked against the chart's schema, the attendees'
configuration, the sizing figures and the uid the instructor's collect expects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hub_helpers import COURSE, DEPLOY, GRADING

# --- the configuration alone ----------------------------------------------------------------------

def load_hub_config(monkeypatch, tmp_path, **env):
    from traitlets.config import PyFileConfigLoader

    for name in [k for k in os.environ if k.startswith("DLLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DLLAB_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("DLLAB_HUB_SPAWNER", "shared")  # isolated (root's default) changes accounts: test_hub_isolation
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()


def test_hub_config_defaults_are_local_and_name_the_course(monkeypatch, tmp_path):
    c = load_hub_config(monkeypatch, tmp_path)
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    service = next(s for s in c.JupyterHub.services if s["name"] == COURSE)
    assert service["url"].startswith("http://127.0.0.1:") and Path(service["cwd"]) == GRADING
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles[f"formgrade-{COURSE}"]["scopes"] == [f"access:services!service={COURSE}"]
    assert c.JupyterHub.load_groups[f"formgrade-{COURSE}"]["users"] == ["instructor"]
    assert "dllab-admin" not in roles, "the REST token service exists only when DLLAB_HUB_API_TOKEN is set"
    assert any(s["name"] == "idle-culler" for s in c.JupyterHub.services)
    assert (tmp_path / "state" / "exchange").is_dir()


def test_hub_config_refuses_passwordless_login_on_a_public_address(monkeypatch, tmp_path):
    with pytest.raises(Exception, match="DLLAB_HUB_AUTH=dummy lets anyone in"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_IP="0.0.0.0")
    with pytest.raises(Exception, match="DLLAB_HUB_PASSWORD"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_IP="0.0.0.0", DLLAB_HUB_AUTH="shared-password")
    with pytest.raises(Exception, match="DLLAB_HUB_PORT='80a' is not a port number"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_PORT="80a")


def test_attendee_config_takes_the_student_id_from_the_hub_only_when_told(monkeypatch):
    from traitlets.config import PyFileConfigLoader

    def load():
        return PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "attendee")).load_config()

    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.delenv("DLLAB_STUDENT_FROM_HUB", raising=False)
    c = load()  # one Unix account per attendee: nbgrader's own id, the account's name
    assert "student_id" not in c.CourseDirectory and c.CourseDirectory.course_id == COURSE
    assert c.ExchangeFactory.submit.__name__ == "PrivateSubmit"
    monkeypatch.setenv("DLLAB_STUDENT_FROM_HUB", "1")  # shared trial mode, Kubernetes pods
    assert load().CourseDirectory.student_id == "alice"
    monkeypatch.delenv("JUPYTERHUB_USER")
    with pytest.raises(Exception, match="JUPYTERHUB_USER is not set"):
        load()


def test_shared_mode_is_for_dummy_trials_only_and_says_so(monkeypatch, tmp_path, capfd):
    c = load_hub_config(monkeypatch, tmp_path)
    assert "TRIAL MODE" in c.JupyterHub.template_vars["announcement"]
    assert "TRIAL MODE" in capfd.readouterr().err
    assert c.Spawner.environment["DLLAB_STUDENT_FROM_HUB"] == "1"
    service = next(s for s in c.JupyterHub.services if s["name"] == COURSE)
    assert service["environment"]["DLLAB_SUBMISSION_OWNER"] == "any" and "user" not in service
    with pytest.raises(Exception, match="shared runs every attendee as one Unix user"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_AUTH="shared-password", DLLAB_HUB_PASSWORD="x" * 12)


# --- Kubernetes: the Zero to JupyterHub values ------------------------------------------------------

def z2jh_values():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((DEPLOY / "config.yaml").read_text())


def test_z2jh_config_follows_the_chart_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DEPLOY / "z2jh-values.schema-4.4.0.json").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(z2jh_values()), key=lambda e: list(e.path))
    assert not errors, [f"{'.'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]
    assert "chart jupyterhub 4.4.0" in (DEPLOY / "config.yaml").read_text().splitlines()[0]
    # a misspelt key is caught, so the check can fail
    broken = z2jh_values()
    broken["singleuser"]["memory"]["guarante"] = "1G"
    assert any("guarante" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_z2jh_config_mounts_the_attendees_and_instructors_settings():
    values = z2jh_values()
    user = values["singleuser"]
    files = user["extraFiles"]
    assert files["attendee-nbgrader"]["stringData"] == (DEPLOY / "attendee" / "nbgrader_config.py").read_text()
    assert files["attendee-server"]["data"] == json.loads((DEPLOY / "attendee" / "jupyter_server_config.json")
                                                          .read_text())
    assert files["instructor-nbgrader"]["stringData"] == (DEPLOY / "instructor" / "nbgrader_config.py").read_text()
    attendee_dir = str(Path(files["attendee-nbgrader"]["mountPath"]).parent)
    assert str(Path(files["attendee-server"]["mountPath"]).parent) == attendee_dir
    assert user["extraEnv"]["JUPYTER_CONFIG_PATH"].split(":")[0] == attendee_dir
    mounts = {m["name"]: m["mountPath"] for m in user["storage"]["extraVolumeMounts"]}
    assert mounts["nbgrader-exchange"] == user["extraEnv"]["DLLAB_HUB_EXCHANGE"] == "/srv/nbgrader/exchange"

    profiles = {p["slug"]: p for p in user["profileList"]}
    gpu = profiles["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"} and gpu["environment"]["DLLAB_DEVICE"] == "gpu"
    teacher = profiles["instructor"]["kubespawner_override"]
    assert teacher["environment"]["JUPYTER_CONFIG_PATH"] == str(Path(files["instructor-nbgrader"]["mountPath"]).parent)

    # the hub offers the instructor profile to the formgrade group only: run the chart's extraConfig
    from types import SimpleNamespace

    from traitlets.config import Config

    c = Config()
    c.KubeSpawner.profile_list = user["profileList"]
    exec(values["hub"]["extraConfig"]["dllab-profiles"], {"c": c})
    group = next(iter(values["hub"]["config"]["JupyterHub"]["load_groups"]))
    assert group == f"formgrade-{COURSE}"

    def offered(*groups):
        spawner = SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups]))
        return [p["slug"] for p in c.KubeSpawner.profile_list(spawner)]

    assert offered() == ["cpu", "gpu"]
    assert offered(group) == ["cpu", "gpu", "instructor"]


def test_z2jh_resources_and_readme_follow_the_measured_figures():
    import sizing  # deploy/jupyterhub/sizing.py: the folder is on the tests' path (pyproject.toml)
    figures = sizing.sizing()
    user = z2jh_values()["singleuser"]
    # KubeSpawner reads "G" as GiB (JupyterHub's ByteSpecification)
    assert user["memory"] == {"guarantee": f"{figures['memory_guarantee_gib']:g}G",
                              "limit": f"{figures['memory_limit_gib']:g}G"}, figures
    assert user["cpu"] == {"guarantee": figures["cpu_guarantee"], "limit": figures["cpu_limit"]}
    assert z2jh_values()["scheduling"]["userPlaceholder"]["replicas"] == figures["placeholders"]
    needed_mib = figures["server_mib"] + max(figures["kernel_mib"].values())
    assert figures["memory_guarantee_gib"] * 1024 > needed_mib
    readme = (DEPLOY / "README.md").read_text()
    assert sizing.table(figures) in readme, "README.md's sizing table is stale: paste `python sizing.py table`"


def test_z2jh_gives_each_attendee_a_uid_the_instructors_collect_expects(monkeypatch, tmp_path):
    """Kubernetes isolation: hub.extraConfig's uid callable, run on a real hub database, gives each
    attendee a distinct uid, the one the instructor's collect (DLLAB_SUBMISSION_OWNER=uid) requires."""
    from types import SimpleNamespace

    from jupyterhub import orm
    from traitlets.config import Config, PyFileConfigLoader

    values = z2jh_values()
    c = Config()
    exec(values["hub"]["extraConfig"]["dllab-uid"], {"c": c})
    db = orm.new_session_factory("sqlite://")()
    names = ["alice", "bob", "carol-smith", "instructor-github-login"]
    for name in names:
        db.add(orm.User(name=name))
    db.commit()

    def spawner(name):
        return SimpleNamespace(user=SimpleNamespace(name=name, db=db))

    uids = {name: c.KubeSpawner.uid(spawner(name)) for name in names}
    assert len(set(uids.values())) == len(names) and all(100_000 <= u < 100_000 + 2**30 for u in uids.values())
    assert c.KubeSpawner.uid(spawner("alice")) == uids["alice"]  # the same at every start
    assert c.KubeSpawner.gid == 100 and values["singleuser"]["uid"] is None
    instructor = next(p for p in values["singleuser"]["profileList"] if p["slug"] == "instructor")
    override = instructor["kubespawner_override"]
    assert override["uid"] == override["gid"] == 2000 and 2000 not in uids.values()
    assert override["environment"]["DLLAB_SUBMISSION_OWNER"] == "uid"
    assert values["singleuser"]["extraEnv"]["DLLAB_STUDENT_FROM_HUB"] == "1"

    # the instructor's collect computes the same uid from the student id, and refuses another owner
    monkeypatch.setenv("DLLAB_SUBMISSION_OWNER", "uid")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "instructor")).load_config()
    assert c.ExchangeFactory.collect.__name__ == "OwnedCollect" and c.ExchangeCollect.check_owner is True
    source = (DEPLOY / "instructor" / "nbgrader_config.py").read_text()
    scope = {"get_config": Config, "__file__": str(DEPLOY / "instructor" / "nbgrader_config.py")}
    exec(compile(source, "instructor", "exec"), scope)
    assert {name: scope["dllab_uid"](name) for name in names} == uids
    submission = tmp_path / "alice+lab1_logreg+2026-01-01 00:00:00.000000 UTC+x"
    submission.mkdir()
    (submission / "lab1_logreg.ipynb").write_text("{}")
    assert "not by alice" in scope["refusal"](submission, "alice")  # owned by this test's uid
    (submission / "lab1_logreg.ipynb").unlink()
    (submission / "lab1_logreg.ipynb").symlink_to(tmp_path)
    monkeypatch.setenv("DLLAB_SUBMISSION_OWNER", "any")
    scope = {"get_config": Config, "__file__": str(DEPLOY / "instructor" / "nbgrader_config.py")}
    exec(compile(source, "instructor", "exec"), scope)
    assert "not a plain file" in scope["refusal"](submission, "alice")
