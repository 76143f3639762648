const tcVod = new TcVod.default({//生成签名才能上传视频
getSignature: getSignature // 前文中所述的获取上传签名的函数,这里必须是函数体,不能调用函数,即getSignature()
});
const uploader = tcVod.upload({mediaFile: video_file, // 媒体文件(视频或音频或图片),类型为 File
});
// 视频上传完成时
uploader.on('media_upload', function(info) {
// uploaderInfo.isVideoUploadSuccess = true;
console.log(info);
});
// 视频上传进度
uploader.on('media_progress', function(info) {
// uploaderInfo.progress = info.percent;
});
// 封面上传完成时
uploader.on('cover_upload', function(info) {
// uploaderInfo.isCoverUploadSuccess = true;
console.log(info);
});
// 封面上传进度
uploader.on('cover_progress', function(info) {
// uploaderInfo.coverProgress = info.percent;
console.log(info)
});
//视频上传结束,返回视频详情
uploader.done().then(function (doneResult) {
// deal with doneResult
console.log(doneResult);
}).catch(function (err) {
// deal with error
console.log(err);
})
// 生成签名
function getSignature() {
return axios.post('/CreateSignature这里是你后台生成签名的url/',JSON.stringify({"Action": "GetUgcUploadSign",})).then(function (response) {
// console.log(response);response是后台返回的数据
return response.data.data.signature;//后台返回的签名
})
}
let $video_id;
//获取文件id
uploader.done().then(function (doneResult) {
// deal with doneResult
console.log(doneResult);
// $video_url.val(doneResult.video.url);
$video_id = doneResult.fileId;//获取文件id
// console.log($video_id)
getVideoResponse({'video_title':video_title});
}).catch(function (err) {
// deal with error
console.log(err);
})
//获取回调
function getVideoResponse() {
console.log($video_id);
console.log(extra_data['video_title']);
return axios.post('/GetVideoResponse这里是后台处理回调的url/',JSON.stringify({"fileId": $video_id,//必传参数,fileId为视频上传后返回的文件id
})).then(function (response) {
console.log(response);
//获取图片和gif,数据来自后台
$return_image_url = response.data.data.result.ProcedureTask.MediaProcessResultSet[1].CoverBySnapshotTask.Output.CoverUrl;
$return_image_gif_url = response.data.data.result.ProcedureTask.MediaProcessResultSet[0].AnimatedGraphicTask.Output.Url;
// console.log($return_image_url);
//获取时长,数据来自后台
let duration = response.data.data.result.ProcedureTask.MetaData.Duration;
return response.data.data.result;
})
}
