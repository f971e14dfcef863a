/// A small built-in scene for smoke tests, `reins sim render` and `reins doctor`: a two-link arm
/// on a checkered floor beside a red cube, with one fixed camera. The arm twins of each robot
/// come as `Robots/<robot>/scene.xml`.
public enum DemoScene {
    public static let xml = """
    <mujoco model="reins-demo">
      <compiler angle="radian" autolimits="true"/>
      <option timestep="0.002" gravity="0 0 -9.81"/>
      <visual><global offwidth="640" offheight="480"/></visual>
      <asset>
        <texture name="grid" type="2d" builtin="checker" rgb1="0.20 0.30 0.40" rgb2="0.10 0.15 0.20" width="256" height="256"/>
        <material name="grid" texture="grid" texrepeat="8 8"/>
      </asset>
      <worldbody>
        <light pos="0 0 2" dir="0 0 -1" diffuse="0.9 0.9 0.9"/>
        <geom name="floor" type="plane" size="1 1 0.05" material="grid"/>
        <camera name="front" pos="0.9 0 0.5" xyaxes="0 1 0 -0.45 0 0.9"/>
        <body name="base" pos="0 0 0.05">
          <geom type="cylinder" size="0.06 0.05" rgba="0.8 0.8 0.8 1"/>
          <body name="upper" pos="0 0 0.05">
            <joint name="shoulder" type="hinge" axis="0 1 0" range="-2 2" damping="0.5"/>
            <geom type="capsule" fromto="0 0 0 0 0 0.25" size="0.025" rgba="0.9 0.6 0.1 1"/>
            <body name="lower" pos="0 0 0.25">
              <joint name="elbow" type="hinge" axis="0 1 0" range="-2.5 2.5" damping="0.5"/>
              <geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02" rgba="0.9 0.6 0.1 1"/>
            </body>
          </body>
        </body>
        <body name="cube" pos="0.3 0.15 0.3">
          <freejoint/>
          <geom type="box" size="0.03 0.03 0.03" rgba="0.85 0.1 0.1 1"/>
        </body>
      </worldbody>
      <actuator>
        <position name="shoulder" joint="shoulder" kp="20"/>
        <position name="elbow" joint="elbow" kp="10"/>
      </actuator>
    </mujoco>
    """
}
