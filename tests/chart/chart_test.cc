// The Helm chart as rendered by a real helm, for the default values and each
// file in tests/chart/values/: every manifest parses, and the rules an
// operator relies on hold (resources, probes and a locked-down security
// context on every container; Secret and ConfigMap references resolve;
// selectors match what they select; the migration hook runs first).
#include <algorithm>
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

// Equal as data: the same keys, items and scalars, whatever the style.
bool SameYaml(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) return a.as<std::string>() == b.as<std::string>();
  if (a.size() != b.size()) return false;
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameYaml(a[i], b[i])) return false;
    }
    return true;
  }
  for (const auto& kv : a) {
    const YAML::Node other = b[kv.first.as<std::string>()];
    if (!other || !SameYaml(kv.second, other)) return false;
  }
  return a.IsMap() || a.IsNull();
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
  for (const YAML::Node& s : r.Kind("Secret"))
    secrets.insert(s["metadata"]["name"].as<std::string>());
  for (const YAML::Node& c : r.Kind("ConfigMap")) {
    config_maps.insert(c["metadata"]["name"].as<std::string>());
  }
  // The database Secret a values file names is the operator's to make.
  const YAML::Node values = GetParam().empty() ? YAML::LoadFile(kChart + "/values.yaml")
                                               : YAML::LoadFile(kValues + GetParam());
  std::set<std::string> external = {values["database"] && values["database"]["existingSecret"]
                                        ? values["database"]["existingSecret"].as<std::string>()
                                        : "message-hub-database"};
  if (values["auth"] && values["auth"]["existingSecret"]) {
    external.insert(values["auth"]["existingSecret"].as<std::string>());
  }
  for (const char* key : {"existingSecret", "clientCASecret"}) {
    if (values["tls"] && values["tls"][key]) external.insert(values["tls"][key].as<std::string>());
  }
  if (values["estate"] && values["estate"]["tokenSecret"]["name"]) {
    external.insert(values["estate"]["tokenSecret"]["name"].as<std::string>());
  }
  for (const YAML::Node& adapter : values["adapters"]) {
    if (adapter["tokenSecret"]) external.insert(adapter["tokenSecret"]["name"].as<std::string>());
    for (const YAML::Node& v : adapter["volumes"]) {
      if (v["secret"]) external.insert(v["secret"]["secretName"].as<std::string>());
    }
  }

  std::vector<YAML::Node> workloads = r.Kind("Deployment");
  for (const YAML::Node& job : r.Kind("Job")) workloads.push_back(job);
  std::vector<YAML::Node> hubd;
  for (const YAML::Node& d : r.Kind("Deployment")) {
    if (d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"].as<std::string>() ==
        "hubd") {
      hubd.push_back(d);
    }
  }
  ASSERT_EQ(hubd.size(), 1u);
  for (const YAML::Node& w : workloads) {
    const std::string name = w["metadata"]["name"].as<std::string>();
    const YAML::Node pod = w["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>()) << name;
    EXPECT_GT(pod["securityContext"]["runAsUser"].as<int>(), 0) << name;
    EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>()) << name;
    std::set<std::string> volumes, read_only_volumes;
    for (const YAML::Node& v : pod["volumes"]) {
      volumes.insert(v["name"].as<std::string>());
      if (v["secret"] || v["configMap"]) read_only_volumes.insert(v["name"].as<std::string>());
      if (!v["secret"]) continue;
      const std::string secret = v["secret"]["secretName"].as<std::string>();
      EXPECT_TRUE(secrets.count(secret) != 0 || external.count(secret) != 0)
          << name << " mounts Secret " << secret << ", which is neither rendered nor given";
    }
    for (const YAML::Node& c : pod["containers"]) {
      const std::string where = name + "/" + c["name"].as<std::string>();
      EXPECT_TRUE(c["resources"]["requests"]["cpu"] && c["resources"]["requests"]["memory"])
          << where;
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
        const std::string volume = mount["name"].as<std::string>();
        EXPECT_EQ(volumes.count(volume), 1u) << where;
        // Configuration and secrets are never written; a state volume (the
        // file source's positions) is the one thing a pod may write.
        if (read_only_volumes.count(volume) != 0) {
          EXPECT_TRUE(mount["readOnly"] && mount["readOnly"].as<bool>()) << where << " " << volume;
        }
      }
      for (const YAML::Node& from : c["envFrom"]) {
        EXPECT_EQ(config_maps.count(from["configMapRef"]["name"].as<std::string>()), 1u) << where;
      }
    }
  }

  // Every Deployment selects its own pods and no other's; the two hubd
  // Services select the hubd pods, any other Service some Deployment's.
  for (const YAML::Node& d : r.Kind("Deployment")) {
    for (const YAML::Node& other : r.Kind("Deployment")) {
      EXPECT_EQ(
          Selects(d["spec"]["selector"]["matchLabels"],
                  other["spec"]["template"]["metadata"]["labels"]),
          d["metadata"]["name"].as<std::string>() == other["metadata"]["name"].as<std::string>())
          << d["metadata"]["name"] << " and the pods of " << other["metadata"]["name"];
    }
  }
  const YAML::Node deployment = hubd[0];
  const std::string deployment_name = deployment["metadata"]["name"].as<std::string>();
  const YAML::Node pod_labels = deployment["spec"]["template"]["metadata"]["labels"];
  int hubd_services = 0;
  for (const YAML::Node& s : r.Kind("Service")) {
    bool selects_some = false;
    for (const YAML::Node& d : r.Kind("Deployment")) {
      selects_some |= Selects(s["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"]);
    }
    EXPECT_TRUE(selects_some) << s["metadata"]["name"];
    hubd_services += Selects(s["spec"]["selector"], pod_labels);
  }
  EXPECT_EQ(hubd_services, 2);
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
        has_port |=
            port["name"].as<std::string>() == m["spec"]["endpoints"][0]["port"].as<std::string>();
      }
      EXPECT_TRUE(has_port) << s["metadata"]["name"];
    }
    EXPECT_GE(selected, 1);
  }

  // The migration Job is a pre-install/pre-upgrade hook; a Secret it needs
  // is a hook of lower weight; the replicas then do not migrate.
  for (const YAML::Node& job : r.Kind("Job")) {
    if (job["metadata"]["labels"]["app.kubernetes.io/component"].as<std::string>() !=
        "migrations") {
      continue;
    }
    const YAML::Node a = job["metadata"]["annotations"];
    EXPECT_EQ(a["helm.sh/hook"].as<std::string>(), "pre-install,pre-upgrade");
    const int job_weight = a["helm.sh/hook-weight"].as<int>();
    std::set<std::string> job_secrets;
    for (const YAML::Node& c : job["spec"]["template"]["spec"]["containers"]) {
      for (const YAML::Node& env : c["env"]) {
        if (env["valueFrom"] && env["valueFrom"]["secretKeyRef"]) {
          job_secrets.insert(env["valueFrom"]["secretKeyRef"]["name"].as<std::string>());
        }
      }
    }
    for (const YAML::Node& s : r.Kind("Secret")) {
      if (job_secrets.count(s["metadata"]["name"].as<std::string>()) == 0) continue;
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

TEST(ChartAdapters, EachAdapterRunsItsBinaryOnItsRenderedConfiguration) {
  const Rendered r = Render("adapters.yaml");
  const YAML::Node values = YAML::LoadFile(kValues + "adapters.yaml");
  std::map<std::string, YAML::Node> deployments, config_maps;
  for (const YAML::Node& d : r.Kind("Deployment"))
    deployments[d["metadata"]["name"].as<std::string>()] = d;
  for (const YAML::Node& c : r.Kind("ConfigMap"))
    config_maps[c["metadata"]["name"].as<std::string>()] = c;
  ASSERT_EQ(values["adapters"].size(), 4u);
  for (const YAML::Node& adapter : values["adapters"]) {
    const std::string name = "rel-message-hub-" + adapter["name"].as<std::string>();
    const std::string type = adapter["type"].as<std::string>();
    ASSERT_EQ(deployments.count(name), 1u) << name;
    const YAML::Node pod = deployments[name]["spec"]["template"]["spec"];
    std::string binary = "/usr/local/bin/hub-" + type;
    std::replace(binary.begin(), binary.end(), '_', '-');
    EXPECT_EQ(pod["containers"][0]["command"][0].as<std::string>(), binary);
    EXPECT_EQ(pod["containers"][0]["args"][0].as<std::string>(),
              "--config=/etc/hub/adapter/adapter.yaml");
    // The file is the adapter's section as given, plus the hub and the
    // metrics port the probes use.
    ASSERT_EQ(config_maps.count(name), 1u) << name;
    const YAML::Node file = YAML::Load(config_maps[name]["data"]["adapter.yaml"].as<std::string>());
    EXPECT_TRUE(SameYaml(file[type], adapter["config"])) << name << ":\n" << file[type];
    EXPECT_EQ(file["hub"]["endpoint"].as<std::string>(),
              "dns:///rel-message-hub-headless.default.svc.cluster.local:50051");
    EXPECT_EQ(file["metrics_listen"].as<std::string>(), "0.0.0.0:9465");
    EXPECT_EQ(pod["containers"][0]["ports"][0]["containerPort"].as<int>(), 9465);
    EXPECT_EQ(file["hub"]["token_file"].IsDefined(), adapter["tokenSecret"].IsDefined()) << name;
  }
  // One position file, one writer.
  EXPECT_EQ(deployments["rel-message-hub-app-logs"]["spec"]["strategy"]["type"].as<std::string>(),
            "Recreate");
  EXPECT_EQ(deployments["rel-message-hub-ingress"]["spec"]["replicas"].as<int>(), 2);
  bool ingress_service = false;
  for (const YAML::Node& s : r.Kind("Service")) {
    ingress_service |= s["metadata"]["name"].as<std::string>() == "rel-message-hub-ingress" &&
                       s["spec"]["ports"][0]["targetPort"].as<std::string>() == "http";
  }
  EXPECT_TRUE(ingress_service);
}

// The estate in the values is applied after install and upgrade by a Job
// that runs `hubctl apply` on exactly that document.
TEST(ChartEstate, AHookJobAppliesTheDocumentWithHubctl) {
  const Rendered r = Render("estate.yaml");
  const YAML::Node values = YAML::LoadFile(kValues + "estate.yaml");
  std::vector<YAML::Node> jobs;
  for (const YAML::Node& j : r.Kind("Job")) {
    if (j["metadata"]["name"].as<std::string>() == "rel-message-hub-apply-estate")
      jobs.push_back(j);
  }
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["metadata"]["annotations"]["helm.sh/hook"].as<std::string>(),
            "post-install,post-upgrade");
  const YAML::Node container = jobs[0]["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["command"][0].as<std::string>(), "/usr/local/bin/hubctl");
  std::vector<std::string> args;
  for (const YAML::Node& a : container["args"]) args.push_back(a.as<std::string>());
  EXPECT_EQ(args,
            (std::vector<std::string>{"--endpoint", "rel-message-hub:50051", "--timeout", "120s",
                                      "apply", "-f", "/etc/hub/estate/estate.yaml", "--prune"}));
  EXPECT_EQ(container["env"][0]["name"].as<std::string>(), "HUB_TOKEN");
  EXPECT_EQ(container["env"][0]["valueFrom"]["secretKeyRef"]["name"].as<std::string>(),
            "hub-deployer");
  bool found = false;
  for (const YAML::Node& c : r.Kind("ConfigMap")) {
    if (c["metadata"]["name"].as<std::string>() != "rel-message-hub-estate") continue;
    found = true;
    EXPECT_TRUE(SameYaml(YAML::Load(c["data"]["estate.yaml"].as<std::string>()),
                         values["estate"]["document"]));
  }
  EXPECT_TRUE(found);
  // Without a document, no Job.
  for (const YAML::Node& j : Render("").Kind("Job")) {
    EXPECT_NE(j["metadata"]["name"].as<std::string>(), "rel-message-hub-apply-estate");
  }
}

// The Secret mounted at the folder of `path` in `pod` (its first container).
std::string SecretBehind(const YAML::Node& pod, const std::string& path) {
  for (const YAML::Node& mount : pod["containers"][0]["volumeMounts"]) {
    const std::string at = mount["mountPath"].as<std::string>() + "/";
    if (path.rfind(at, 0) != 0) continue;
    for (const YAML::Node& v : pod["volumes"]) {
      if (v["name"].as<std::string>() == mount["name"].as<std::string>() && v["secret"]) {
        return v["secret"]["secretName"].as<std::string>();
      }
    }
  }
  return "";
}

TEST(ChartTls, CertificatesComeFromSecretsAndPlaintextNeedsNoFlagThen) {
  const Rendered r = Render("secure.yaml");
  YAML::Node config, hubd, adapter, adapter_config;
  for (const YAML::Node& c : r.Kind("ConfigMap")) {
    const std::string name = c["metadata"]["name"].as<std::string>();
    if (name == "rel-message-hub") config = c["data"];
    if (name == "rel-message-hub-ingress")
      adapter_config = YAML::Load(c["data"]["adapter.yaml"].as<std::string>());
  }
  for (const YAML::Node& d : r.Kind("Deployment")) {
    const std::string name = d["metadata"]["name"].as<std::string>();
    if (name == "rel-message-hub") hubd = d["spec"]["template"]["spec"];
    if (name == "rel-message-hub-ingress") adapter = d["spec"]["template"]["spec"];
  }
  ASSERT_TRUE(config && hubd && adapter && adapter_config);
  EXPECT_FALSE(config["HUB_ALLOW_INSECURE"]);
  EXPECT_EQ(SecretBehind(hubd, config["HUB_TLS_CERT_FILE"].as<std::string>()), "hub-tls");
  EXPECT_EQ(SecretBehind(hubd, config["HUB_TLS_KEY_FILE"].as<std::string>()), "hub-tls");
  EXPECT_EQ(SecretBehind(hubd, config["HUB_TLS_CLIENT_CA_FILE"].as<std::string>()),
            "hub-client-ca");
  // The kubelet's gRPC probe speaks no TLS.
  EXPECT_TRUE(hubd["containers"][0]["startupProbe"]["httpGet"]);
  EXPECT_FALSE(hubd["containers"][0]["startupProbe"]["grpc"]);
  // Adapters trust the hub's CA.
  EXPECT_TRUE(adapter_config["hub"]["tls"].as<bool>());
  EXPECT_EQ(SecretBehind(adapter, adapter_config["hub"]["ca_file"].as<std::string>()), "hub-tls");

  const Rendered plain = Render("");
  for (const YAML::Node& c : plain.Kind("ConfigMap")) {
    EXPECT_EQ(c["data"]["HUB_ALLOW_INSECURE"].as<std::string>(), "true");
    EXPECT_FALSE(c["data"]["HUB_TLS_CERT_FILE"]);
  }
  CommandResult r2 =
      RunCommand(absl::StrCat(HELM_PATH, " template rel ", kChart, " --set tls.clientCASecret=ca"));
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_NE(r2.err.find("needs TLS"), std::string::npos) << r2.err;
}

TEST(ChartTls, SecretsMadeFromInlineValuesAreTheOnesMounted) {
  const Rendered r = Render("ha.yaml");
  std::map<std::string, YAML::Node> secrets;
  for (const YAML::Node& s : r.Kind("Secret")) secrets[s["metadata"]["name"].as<std::string>()] = s;
  ASSERT_EQ(secrets.count("rel-message-hub-auth"), 1u);
  ASSERT_EQ(secrets.count("rel-message-hub-tls"), 1u);
  ASSERT_EQ(secrets.count("rel-message-hub-client-ca"), 1u);
  EXPECT_NE(
      secrets["rel-message-hub-auth"]["stringData"]["policy"].as<std::string>().find("allow ops"),
      std::string::npos);
  YAML::Node hubd, config;
  for (const YAML::Node& d : r.Kind("Deployment")) hubd = d["spec"]["template"]["spec"];
  for (const YAML::Node& c : r.Kind("ConfigMap")) config = c["data"];
  EXPECT_EQ(SecretBehind(hubd, config["HUB_TLS_CERT_FILE"].as<std::string>()),
            "rel-message-hub-tls");
  EXPECT_EQ(SecretBehind(hubd, config["HUB_TLS_CLIENT_CA_FILE"].as<std::string>()),
            "rel-message-hub-client-ca");
  std::map<std::string, std::string> env;
  for (const YAML::Node& e : hubd["containers"][0]["env"]) {
    if (e["value"]) env[e["name"].as<std::string>()] = e["value"].as<std::string>();
  }
  EXPECT_EQ(SecretBehind(hubd, env["HUB_TOKENS_FILE"]), "rel-message-hub-auth");
  EXPECT_EQ(SecretBehind(hubd, env["HUB_POLICY_FILE"]), "rel-message-hub-auth");
}

// A multi-host URL (commas, a query) reaches hubd as written, and the
// pooler's URL beside it (docs/deploy.md, "2. The database").
TEST(ChartDatabase, AMultiHostUrlAndAPoolerUrlReachHubdAsWritten) {
  const Rendered r = Render("failover.yaml");
  const YAML::Node values = YAML::LoadFile(kValues + "failover.yaml")["database"];
  std::map<std::string, std::string> secret;
  for (const YAML::Node& s : r.Kind("Secret")) {
    if (s["metadata"]["name"].as<std::string>() != "rel-message-hub-database") continue;
    for (const auto& kv : s["stringData"]) {
      secret[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  EXPECT_EQ(secret["uri"], values["url"].as<std::string>());
  EXPECT_EQ(secret["pooler-uri"], values["poolerUrl"].as<std::string>());
  std::map<std::string, std::string> keys;
  for (const YAML::Node& d : r.Kind("Deployment")) {
    for (const YAML::Node& env : d["spec"]["template"]["spec"]["containers"][0]["env"]) {
      if (env["valueFrom"] && env["valueFrom"]["secretKeyRef"]) {
        keys[env["name"].as<std::string>()] =
            env["valueFrom"]["secretKeyRef"]["key"].as<std::string>();
      }
    }
  }
  EXPECT_EQ(keys["HUB_DATABASE_URL"], "uri");
  EXPECT_EQ(keys["HUB_DATABASE_POOLER_URL"], "pooler-uri");
}

TEST(ChartConsole, OffUnlessConfigConsoleTurnsItOn) {
  const auto console = [](const Rendered& r) {
    for (const YAML::Node& c : r.Kind("ConfigMap")) {
      if (c["metadata"]["name"].as<std::string>() == "rel-message-hub") {
        return c["data"]["HUB_CONSOLE"].as<std::string>();
      }
    }
    return std::string("no configmap");
  };
  EXPECT_EQ(console(Render("")), "false");
  EXPECT_EQ(console(Render("monitoring.yaml")), "true");
}

TEST(ChartValues, SchemaRefusesNonsense) {
  for (const std::string& bad :
       {"replicaCount=0", "config.logLevel=loud", "config.console=maybe", "database.url=mysql://x",
        "service.grpcPort=70000", "adapters[0].name=x,adapters[0].type=ftp,adapters[0].config.a=b",
        "adapters[0].name=hubd,adapters[0].type=pg_outbox,adapters[0].config.a=b"}) {
    CommandResult r = RunCommand(absl::StrCat(HELM_PATH, " template rel ", kChart, " --set ", bad));
    EXPECT_NE(r.exit_code, 0) << bad << " was accepted";
  }
}

INSTANTIATE_TEST_SUITE_P(ValuesFiles, ChartTest,
                         ::testing::Values("", "minimal.yaml", "ha.yaml", "monitoring.yaml",
                                           "secure.yaml", "adapters.yaml", "estate.yaml",
                                           "failover.yaml"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.empty() ? std::string("defaults")
                                                     : info.param.substr(0, info.param.find('.'));
                         });

}  // namespace
}  // namespace hub::testing
