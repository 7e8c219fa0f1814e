// The Helm chart as rendered by a real helm, for the default values and each
// file in tests/chart/values/: every manifest parses, and the rules an
// operator relies on hold (resources, probes and a locked-down security
// context on every container; Secret and ConfigMap references resolve;
// selectors match what they select; the migration hook runs first).
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

const std::string kChart = std::string(HUB_SOURCE_DIR) + "/charts/message-hub";
const std::string kValues = std::string(HUB_SOURCE_DIR) + "/tests/chart/values/";

struct Rendered {
  std::vector<YAML::Node> docs;
  std::vector<YAML::Node> Kind(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const YAML::Node& d : docs) {
      if (d["kind"].as<std::string>() == kind) out.push_back(d);
    }
    return out;
  }
};

Rendered Render(const std::string& values_file) {
  const std::string args = values_file.empty() ? "" : " -f " + kValues + values_file;
  CommandResult r = RunCommand(absl::StrCat(HELM_PATH, " template rel ", kChart, args));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Rendered out;
  for (const YAML::Node& d : YAML::LoadAll(r.out)) {
    if (d.IsMap()) out.docs.push_back(d);
  }
  return out;
}

// `subset` labels all appear in `labels` with the same values.
bool Selects(const YAML::Node& subset, const YAML::Node& labels) {
  if (!subset.IsMap() || subset.size() == 0) return false;
  for (const auto& kv : subset) {
    const YAML::Node v = labels[kv.first.as<std::string>()];
    if (!v || v.as<std::string>() != kv.second.as<std::string>()) return false;
  }
  return true;
}

class ChartTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChartTest, LintsStrictly) {
  const std::string args = GetParam().empty() ? "" : " -f " + kValues + GetParam();
  CommandResult r = RunCommand(absl::StrCat(HELM_PATH, " lint --strict ", kChart, args));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_P(ChartTest, RenderedManifestsFollowTheRules) {
  const Rendered r = Render(GetParam());
  ASSERT_FALSE(r.docs.empty());
  std::set<std::string> secrets, config_maps;
  for (const YAML::Node& s : r.Kind("Secret")) secrets.insert(s["metadata"]["name"].as<std::string>());
  for (const YAML::Node& c : r.Kind("ConfigMap")) {
    config_maps.insert(c["metadata"]["name"].as<std::string>());
  }
  // The database Secret a values file names is the operator's to make.
  const YAML::Node values =
      GetParam().empty() ? YAML::LoadFile(kChart + "/values.yaml") : YAML::LoadFile(kValues + GetParam());
  std::set<std::string> external = {values["database"] && values["database"]["existingSecret"]
                                         ? values["database"]["existingSecret"].as<std::string>()
                                         : "message-hub-database"};
  if (values["auth"] && values["auth"]["existingSecret"]) {
    external.insert(values["auth"]["existingSecret"].as<std::string>());
  }

  std::vector<YAML::Node> workloads = r.Kind("Deployment");
  for (const YAML::Node& job : r.Kind("Job")) workloads.push_back(job);
  ASSERT_EQ(r.Kind("Deployment").size(), 1u);
  for (const YAML::Node& w : workloads) {
    const std::string name = w["metadata"]["name"].as<std::string>();
    const YAML::Node pod = w["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>()) << name;
    EXPECT_GT(pod["securityContext"]["runAsUser"].as<int>(), 0) << name;
    EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>()) << name;
    std::set<std::string> volumes;
    for (const YAML::Node& v : pod["volumes"]) {
      volumes.insert(v["name"].as<std::string>());
      if (!v["secret"]) continue;
      const std::string secret = v["secret"]["secretName"].as<std::string>();
      EXPECT_TRUE(secrets.count(secret) != 0 || external.count(secret) != 0)
          << name << " mounts Secret " << secret << ", which is neither rendered nor given";
    }
    for (const YAML::Node& c : pod["containers"]) {
      const std::string where = name + "/" + c["name"].as<std::string>();
      EXPECT_TRUE(c["resources"]["requests"]["cpu"] && c["resources"]["requests"]["memory"]) << where;
      EXPECT_TRUE(c["resources"]["limits"]["memory"]) << where;
      const YAML::Node sc = c["securityContext"];
      EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>()) << where;
      EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>()) << where;
      EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(), "ALL") << where;
      if (w["kind"].as<std::string>() == "Deployment") {
        EXPECT_TRUE(c["readinessProbe"]) << where;
        EXPECT_TRUE(c["livenessProbe"]) << where;
        EXPECT_TRUE(c["lifecycle"]["preStop"]) << where;
      }
      for (const YAML::Node& env : c["env"]) {
        if (!env["valueFrom"] || !env["valueFrom"]["secretKeyRef"]) continue;
        const std::string secret = env["valueFrom"]["secretKeyRef"]["name"].as<std::string>();
        EXPECT_TRUE(secrets.count(secret) != 0 || external.count(secret) != 0)
            << where << " reads Secret " << secret << ", which is neither rendered nor given";
      }
      for (const YAML::Node& mount : c["volumeMounts"]) {
        EXPECT_EQ(volumes.count(mount["name"].as<std::string>()), 1u) << where;
        EXPECT_TRUE(mount["readOnly"].as<bool>()) << where << ": the root filesystem is read-only";
      }
      for (const YAML::Node& from : c["envFrom"]) {
        EXPECT_EQ(config_maps.count(from["configMapRef"]["name"].as<std::string>()), 1u) << where;
      }
    }
  }

  // Selectors select the hubd pods; Services and their monitors agree.
  const YAML::Node deployment = r.Kind("Deployment")[0];
  const std::string deployment_name = deployment["metadata"]["name"].as<std::string>();
  const YAML::Node pod_labels = deployment["spec"]["template"]["metadata"]["labels"];
  EXPECT_TRUE(Selects(deployment["spec"]["selector"]["matchLabels"], pod_labels));
  ASSERT_EQ(r.Kind("Service").size(), 2u);
  for (const YAML::Node& s : r.Kind("Service")) {
    EXPECT_TRUE(Selects(s["spec"]["selector"], pod_labels)) << s["metadata"]["name"];
  }
  for (const YAML::Node& p : r.Kind("PodDisruptionBudget")) {
    EXPECT_TRUE(Selects(p["spec"]["selector"]["matchLabels"], pod_labels));
  }
  for (const YAML::Node& n : r.Kind("NetworkPolicy")) {
    EXPECT_TRUE(Selects(n["spec"]["podSelector"]["matchLabels"], pod_labels));
  }
  for (const YAML::Node& h : r.Kind("HorizontalPodAutoscaler")) {
    EXPECT_EQ(h["spec"]["scaleTargetRef"]["name"].as<std::string>(), deployment_name);
    EXPECT_FALSE(deployment["spec"]["replicas"]) << "the HPA owns the replica count";
  }
  for (const YAML::Node& m : r.Kind("ServiceMonitor")) {
    int selected = 0;
    for (const YAML::Node& s : r.Kind("Service")) {
      if (!Selects(m["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])) continue;
      ++selected;
      bool has_port = false;
      for (const YAML::Node& port : s["spec"]["ports"]) {
        has_port |= port["name"].as<std::string>() == m["spec"]["endpoints"][0]["port"].as<std::string>();
      }
      EXPECT_TRUE(has_port) << s["metadata"]["name"];
    }
    EXPECT_GE(selected, 1);
  }

  // The migration Job is a pre-install/pre-upgrade hook; a Secret it needs
  // is a hook of lower weight; the replicas then do not migrate.
  for (const YAML::Node& job : r.Kind("Job")) {
    const YAML::Node a = job["metadata"]["annotations"];
    EXPECT_EQ(a["helm.sh/hook"].as<std::string>(), "pre-install,pre-upgrade");
    const int job_weight = a["helm.sh/hook-weight"].as<int>();
    for (const YAML::Node& s : r.Kind("Secret")) {
      const YAML::Node sa = s["metadata"]["annotations"];
      ASSERT_TRUE(sa && sa["helm.sh/hook"]) << "the Job's Secret would not exist before it";
      EXPECT_LT(sa["helm.sh/hook-weight"].as<int>(), job_weight);
    }
    EXPECT_EQ(job["spec"]["template"]["spec"]["containers"][0]["args"][0].as<std::string>(),
              "--migrate_only");
    for (const YAML::Node& c : r.Kind("ConfigMap")) {
      if (c["data"]["HUB_MIGRATE"]) EXPECT_EQ(c["data"]["HUB_MIGRATE"].as<std::string>(), "false");
    }
  }
}

TEST(ChartValues, SchemaRefusesNonsense) {
  for (const std::string& bad : {"replicaCount=0", "config.logLevel=loud",
                                 "database.url=mysql://x", "service.grpcPort=70000"}) {
    CommandResult r = RunCommand(absl::StrCat(HELM_PATH, " template rel ", kChart, " --set ", bad));
    EXPECT_NE(r.exit_code, 0) << bad << " was accepted";
  }
}

INSTANTIATE_TEST_SUITE_P(ValuesFiles, ChartTest,
                         ::testing::Values("", "minimal.yaml", "ha.yaml", "monitoring.yaml",
                                           "secure.yaml"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.empty() ? std::string("defaults")
                                                     : info.param.substr(0, info.param.find('.'));
                         });

}  // namespace
}  // namespace hub::testing
