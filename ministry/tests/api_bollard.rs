//! bollard (the Docker API's Rust client, its models generated from Docker's API
//! description) against `ministry daemon`: version, a container created, attached,
//! started, waited for and removed, the list, an exec, and Docker's 404.
// bollard 0.19 deprecates its hand-written option structs for generated ones; these still
// send what the docker CLI sends.
#![allow(deprecated)]

mod common;

use bollard::container::{
    AttachContainerOptions, AttachContainerResults, Config, CreateContainerOptions,
    ListContainersOptions, RemoveContainerOptions, WaitContainerOptions,
};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use common::*;
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bollard_runs_a_container_and_an_exec() {
    let m = Ministry::new();
    m.busybox("busybox");
    let d = MinistryDaemon::start(&m);
    let docker =
        Docker::connect_with_unix(d.sock.to_str().unwrap(), 30, bollard::API_DEFAULT_VERSION)
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
    let v = docker.version().await.unwrap();
    assert_eq!(v.api_version.as_deref(), Some("1.44"));

    let host = bollard::models::HostConfig {
        network_mode: Some("none".into()),
        ..Default::default()
    };
    let id = docker
        .create_container(
            Some(CreateContainerOptions {
                name: "bol1",
                platform: None,
            }),
            Config {
                image: Some("busybox"),
                cmd: Some(vec!["sh", "-c", "echo from-bollard; exit 4"]),
                host_config: Some(host.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let AttachContainerResults { mut output, .. } = docker
        .attach_container(
            &id,
            Some(AttachContainerOptions::<String> {
                stdout: Some(true),
                stderr: Some(true),
                stream: Some(true),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    docker
        .start_container(
            &id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let mut out = String::new();
    while let Some(Ok(chunk)) = output.next().await {
        out.push_str(&chunk.to_string());
    }
    assert_eq!(out, "from-bollard\n");
    // The wait reports the exit code (bollard turns a non-zero one into an error).
    let w = docker
        .wait_container(&id, None::<WaitContainerOptions<String>>)
        .next()
        .await
        .unwrap();
    match w {
        Ok(r) => assert_eq!(r.status_code, 4),
        Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => assert_eq!(code, 4),
        Err(e) => panic!("wait: {e}"),
    }
    let list = docker
        .list_containers(Some(ListContainersOptions::<String> {
            all: true,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].names.as_deref(), Some(&["/bol1".to_string()][..]));
    assert_eq!(
        list[0].state,
        Some(bollard::models::ContainerSummaryStateEnum::EXITED)
    );

    // An exec in a running container.
    let id2 = docker
        .create_container(
            None::<CreateContainerOptions<String>>,
            Config {
                image: Some("busybox"),
                cmd: Some(vec!["sleep", "100"]),
                host_config: Some(host),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    docker
        .start_container(
            &id2,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let exec = docker
        .create_exec(
            &id2,
            CreateExecOptions {
                attach_stdout: Some(true),
                cmd: Some(vec!["echo", "in-exec"]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let mut got = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec, None).await.unwrap()
    {
        while let Some(Ok(c)) = output.next().await {
            got.push_str(&c.to_string());
        }
    }
    assert_eq!(got, "in-exec\n");
    let inspect = docker.inspect_exec(&exec).await.unwrap();
    assert_eq!(inspect.exit_code, Some(0));

    // Docker's 404 for a missing container.
    match docker
        .inspect_container(
            "nosuch",
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        }) => {
            assert_eq!(status_code, 404);
            assert!(message.contains("No such container: nosuch"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for c in [&id, &id2] {
        docker
            .remove_container(
                c,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
    }
}
