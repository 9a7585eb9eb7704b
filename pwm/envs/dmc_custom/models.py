"""MuJoCo models of the custom tasks, derived at load time from dm_control's own XML.

TD-MPC2's custom tasks ship edited copies of dm_control models. Deriving the edits from the
installed dm_control models instead keeps everything else (materials, cameras, actuators, physics
options) identical to the stock domain by construction, and makes each edit visible as code.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

from dm_control.suite import common

# TD-MPC2's 3-link reacher: capsule lengths of the upper arm, forearm and hand, and where each next
# body (the last one is the finger) sits along its parent link. The finger sits 0.09 along the
# 0.1 hand capsule, as in TD-MPC2's model, so reach and `to_target` observations match its data.
THREE_LINK_LENGTHS = (0.09, 0.09, 0.1)
THREE_LINK_OFFSETS = (0.09, 0.09, 0.09)
THREE_LINK_JOINT_RANGE_DEG = 80.0  # every joint but the shoulder is limited to +-80 degrees


def _find(root: ET.Element, tag: str, name: str) -> ET.Element:
    element = root.find(f".//{tag}[@name='{name}']")
    if element is None:
        raise KeyError(f"no <{tag} name={name!r}> in model {root.get('model')!r}")
    return element


def stock_model(filename: str) -> ET.Element:
    """The parsed XML of one of dm_control's suite models, e.g. 'walker.xml'."""
    return ET.fromstring(common.read_model(filename))


def widened_plane(filename: str, geom: str, factor: float) -> str:
    """The model with the plane ``geom`` made ``factor`` times longer along x.

    MuJoCo planes collide as infinite planes, so this changes what is drawn (a floor under an agent
    that travels backwards far from the origin), not the dynamics.
    """
    root = stock_model(filename)
    plane = _find(root, "geom", geom)
    size = [float(v) for v in plane.get("size").split()]
    size[0] *= factor
    plane.set("size", " ".join(f"{v:g}" for v in size))
    return ET.tostring(root, encoding="unicode")


def _link(name: str, joint: str, length: float, pos: str, limited: bool) -> ET.Element:
    """One arm link: a body at ``pos`` on its parent, with a capsule and a hinge joint."""
    body = ET.Element("body", name=name, pos=pos)
    ET.SubElement(body, "geom", name=name, type="capsule", fromto=f"0 0 0 {length:g} 0 0", size=".01", material="self")
    joint_attrs = {"name": joint}
    if limited:
        r = THREE_LINK_JOINT_RANGE_DEG
        joint_attrs.update(limited="true", range=f"{-r:g} {r:g}")
    ET.SubElement(body, "joint", **joint_attrs)
    return body


def three_link_reacher() -> str:
    """dm_control's planar reacher with its 2-link arm replaced by TD-MPC2's 3-link arm.

    Geom names 'finger' and 'target' are kept, so dm_control's reacher Physics and Task (sparse
    reward when the finger touches the target) apply unchanged.
    """
    root = stock_model("reacher.xml")
    root.set("model", "three-link planar reacher")
    worldbody = root.find("worldbody")
    old_arm = _find(worldbody, "body", "arm")
    index = list(worldbody).index(old_arm)
    worldbody.remove(old_arm)

    links = [("arm0", "shoulder0", False), ("arm1", "shoulder1", True), ("hand", "wrist", True)]
    parent, pos, top = worldbody, old_arm.get("pos"), None
    for (name, joint, limited), length, offset in zip(links, THREE_LINK_LENGTHS, THREE_LINK_OFFSETS):
        body = _link(name, joint, length, pos, limited)
        if top is None:
            top = body
        else:
            parent.append(body)
        parent, pos = body, f"{offset:g} 0 0"
    finger = ET.SubElement(parent, "body", name="finger", pos=pos)
    ET.SubElement(finger, "camera", name="hand", pos="0 0 .2", mode="track")
    ET.SubElement(finger, "geom", name="finger", type="sphere", size=".01", material="effector")
    worldbody.insert(index, top)

    actuator = root.find("actuator")
    for motor in list(actuator):
        actuator.remove(motor)
    for _, joint, _ in links:
        ET.SubElement(actuator, "motor", name=joint, joint=joint)
    return ET.tostring(root, encoding="unicode")


@functools.cache
def model(name: str) -> str:
    """The XML string of a custom model by name (cached: building a task re-reads no files)."""
    builders = {
        "walker_wide_floor": lambda: widened_plane("walker.xml", "floor", 2.0),
        "cheetah_wide_floor": lambda: widened_plane("cheetah.xml", "ground", 2.0),
        "reacher_three_links": three_link_reacher,
    }
    return builders[name]()


def assets() -> dict:
    """dm_control's shared assets (skybox, materials), which the models include by file name."""
    return common.ASSETS
