#include "src/ctl/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/common/build_info.h"
#include "src/ctl/commands.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {
namespace {

constexpr char kDescription[] =
    "protomeshctl manages the resources of a Protomesh resource store from YAML or JSON files, "
    "the way kubectl manages Kubernetes objects.";

constexpr char kFooter[] =
    "\nDocuments:\n"
    "  kind: HttpIngress        # or Service, RoutingPolicy, InstanceSet, GatewayPolicy, Trigger,\n"
    "                           # EnvoyResource, EnvoyCluster, EnvoyListener,\n"
    "                           # EnvoyRouteConfiguration, EnvoyClusterLoadAssignment\n"
    "  namespace: default       # optional: --namespace\n"
    "  name: public-ingress\n"
    "  id: <uuid>               # optional: UUIDv5 of namespace/name\n"
    "  spec: {...}              # the kind's fields, in protobuf's JSON form\n"
    "Without kind, spec is an Any: {\"@type\": type.googleapis.com/<message>, ...fields}.\n"
    "\nSettings: flag, else environment variable, else the TOML file of --config, else default:\n"
    "  --server PROTOMESH_SERVER, --xds-server PROTOMESH_XDS_SERVER,\n"
    "  --namespace PROTOMESH_NAMESPACE, --config PROTOMESH_CONFIG,\n"
    "  --tls-ca-file PROTOMESH_TLS_CA_FILE, --tls-cert-file PROTOMESH_TLS_CERT_FILE,\n"
    "  --tls-key-file PROTOMESH_TLS_KEY_FILE, --tls-server-name PROTOMESH_TLS_SERVER_NAME,\n"
    "  --timeout PROTOMESH_TIMEOUT\n";

void PrintError(const absl::Status& status, std::ostream& err) {
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    err << "error: " << line << "\n";
  }
}

}  // namespace

int RunCli(int argc, const char* const* argv, const std::map<std::string, std::string>& environment,
           std::istream& in, std::ostream& out, std::ostream& err) {
  CLI::App app(kDescription, "protomeshctl");
  app.footer(absl::StrCat(kFooter, "\n", kExitCodeHelp));
  app.require_subcommand(1);
  app.fallthrough();
  const std::string version_line = build_info::VersionLine("protomeshctl");
  app.set_version_flag("--version", version_line, "print the version and exit");

  // Global settings; which ones the command line gave is what counts.
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> given;
  auto add_setting = [&](const std::string& name, const std::string& flags, const std::string& help) {
    given[name] = app.add_option(flags, values[name],
                                 absl::StrCat(help, " (env ", SettingEnvironmentName(name), ")"));
  };
  add_setting("server", "-s,--server", "store address host:port [default: localhost:6680]");
  add_setting("xds-server", "--xds-server",
              "protomesh-xds address host:port, for xds-status [default: localhost:6690]");
  add_setting("namespace", "-n,--namespace", "namespace [default: default]");
  add_setting("config", "--config", "TOML file with any of these settings (keys like the flags)");
  add_setting("tls-ca-file", "--tls-ca-file", "PEM CA certificates to verify the store (turns TLS on)");
  add_setting("tls-cert-file", "--tls-cert-file", "PEM client certificate (with --tls-key-file)");
  add_setting("tls-key-file", "--tls-key-file", "PEM client private key (with --tls-cert-file)");
  add_setting("tls-server-name", "--tls-server-name",
              "name to verify in the store's certificate, when not the address's host");
  add_setting("timeout", "--timeout", "deadline of each store call, e.g. 30s (0: none) [default: 30s]");

  ApplyOptions apply;
  CLI::App* apply_command = app.add_subcommand(
      "apply", "create or update the resources of files in one transaction (all or nothing)");
  apply_command->add_option("-f,--filename", apply.files, "file, directory or - for stdin (repeatable)")
      ->required();
  apply_command->add_flag("-R,--recursive", apply.recursive, "read directories recursively");
  apply_command->add_flag("--dry-run", apply.dry_run, "show what would change; write nothing");
  apply_command->add_flag("--prune", apply.prune,
                          "also delete resources of the files' namespaces that the files do not "
                          "contain, limited by a selector");
  apply_command->add_option("--prune-type", apply.prune_types,
                            "prune only resources of this kind or type (repeatable)");
  apply_command->add_option("--prune-prefix", apply.prune_prefix,
                            "prune only resources whose name starts with this");
  apply_command->add_flag("--prune-all", apply.prune_all,
                          "prune every resource of the namespaces that the files do not contain");

  GetOptions get;
  CLI::App* get_command = app.add_subcommand("get", "print resources by name, or all of the namespace");
  get_command->add_option("names", get.names, "resource names (none: the whole namespace)");
  GetOptions list;
  CLI::App* list_command = app.add_subcommand("list", "print the resources of the namespace");
  for (auto [command, options] : {std::pair{get_command, &get}, std::pair{list_command, &list}}) {
    if (command == get_command) {
      command->add_option("--id", options->ids, "resource id (repeatable)");
    }
    command->add_option("-t,--type", options->types,
                        "only this kind (HttpIngress, ...), message type or type URL (repeatable)");
    command->add_option("--prefix", options->name_prefix, "only names starting with this");
    command->add_option("-o,--output", options->output, "table, yaml or json [default: table]");
  }

  DeleteOptions del;
  CLI::App* delete_command = app.add_subcommand(
      "delete", "delete resources by name, id or file in one transaction");
  delete_command->add_option("names", del.names, "resource names");
  delete_command->add_option("--id", del.ids, "resource id (repeatable)");
  delete_command->add_option("-f,--filename", del.files, "file, directory or - (repeatable)");
  delete_command->add_flag("-R,--recursive", del.recursive, "read directories recursively");
  delete_command->add_flag("--ignore-not-found", del.ignore_not_found,
                           "delete what exists instead of failing on what does not");

  WatchOptions watch;
  int64_t since = -1;
  CLI::App* watch_command = app.add_subcommand(
      "watch", "print the namespace's resources, then each change as it happens");
  watch_command->add_option("-t,--type", watch.types, "only this kind, message type or type URL");
  CLI::Option* since_option = watch_command->add_option(
      "--since", since, "instead of the current state, every change after this revision");
  watch_command->add_option("-o,--output", watch.output,
                            "table (one line per change), yaml or json (one line per change)");

  HistoryOptions history;
  CLI::App* history_command = app.add_subcommand("history", "list the past versions of a resource");
  history_command->add_option("name", history.name, "resource name");
  history_command->add_option("--id", history.id, "resource id instead of a name");
  history_command->add_option("-o,--output", history.output, "table, yaml or json [default: table]");

  RollbackOptions rollback;
  CLI::App* rollback_command = app.add_subcommand(
      "rollback", "put a resource back as it was at a revision, as a new change");
  rollback_command->add_option("name", rollback.name, "resource name");
  rollback_command->add_option("--id", rollback.id, "resource id instead of a name");
  rollback_command->add_option("--to-revision", rollback.to_revision, "the revision to go back to")
      ->required();

  XdsStatusOptions xds_status;
  CLI::App* xds_status_command = app.add_subcommand(
      "xds-status",
      "show what protomesh-xds serves: resources it cannot serve as stored, and whether each "
      "connected proxy or gRPC client is in sync (SYNCED, SENT, STALE, NACKED)");
  xds_status_command->add_option("-o,--output", xds_status.output,
                                 "table, yaml or json [default: table]");

  CLI::App* version_command = app.add_subcommand("version", "print the version (as --version)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (version_command->parsed()) {
    out << version_line << "\n";
    return kExitOk;
  }

  std::map<std::string, std::string> flags;
  for (const auto& [name, option] : given) {
    if (option->count() > 0) flags[name] = values[name];
  }
  auto settings = ResolveSettings(flags, environment);
  if (!settings.ok()) {
    PrintError(settings.status(), err);
    return ExitCodeOf(settings.status());
  }
  auto store = StoreClient::Create(*settings);
  if (!store.ok()) {
    PrintError(store.status(), err);
    return ExitCodeOf(store.status());
  }
  std::unique_ptr<TypeRegistry> registry = TypeRegistry::CreateDefault();
  DocumentCodec codec(*registry);
  CommandContext context{*settings, *registry, codec, **store, in, out, err};

  absl::Status status;
  if (apply_command->parsed()) {
    status = RunApply(context, apply);
  } else if (get_command->parsed()) {
    status = RunGet(context, get);
  } else if (list_command->parsed()) {
    status = RunGet(context, list);
  } else if (delete_command->parsed()) {
    status = RunDelete(context, del);
  } else if (watch_command->parsed()) {
    if (since_option->count() > 0) watch.since = since;
    status = RunWatch(context, watch);
  } else if (history_command->parsed()) {
    status = RunHistory(context, history);
  } else if (rollback_command->parsed()) {
    status = RunRollback(context, rollback);
  } else if (xds_status_command->parsed()) {
    status = RunXdsStatus(context, xds_status);
  }
  out.flush();
  if (!status.ok()) PrintError(status, err);
  return ExitCodeOf(status);
}

}  // namespace protomesh::ctl
